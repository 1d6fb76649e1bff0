"""The lab clients' registration and enrolment helpers: secrets never on ansible's command line, keys 0600."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from medledger_client.enrolment import Enrolled
from medledger_tools import lab_clients
from medledger_tools.topology import Topology

from .certificates import issue

SECRET = "Zq3-lab-client-secret"  # noqa: S105 - a test value


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_modules_secret_goes_to_ansible_in_a_private_file(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_ansible(*args: str) -> subprocess.CompletedProcess[str]:
        seen["argv"] = list(args)
        path = Path(args[args.index("-e") + 1].removeprefix("@"))
        seen["file"], seen["mode"], seen["folder_mode"] = path, mode(path), mode(path.parent)
        seen["variables"] = json.loads(path.read_text())
        return subprocess.CompletedProcess(list(args), 0, "vm33 | SUCCESS", "")

    monkeypatch.setattr(lab_clients, "ansible", fake_ansible)
    monkeypatch.setattr(lab_clients, "check_target", lambda _address: None)
    topology = Topology({"vm33": {"ansible_host": "172.20.29.33"}}, {"all": ["vm33"]})

    lab_clients.run_module(topology, "vm33", "medledger_fabric_register", {"name": "pat-1", "secret": SECRET})

    assert not any(SECRET in arg for arg in seen["argv"]), seen["argv"]
    assert seen["argv"][:4] == ["vm33", "-b", "-m", "medledger_fabric_register"]
    shown = json.loads(seen["argv"][seen["argv"].index("-a") + 1])
    assert shown == {"name": "pat-1", "secret": "{{ medledger_module_secret }}"}
    assert seen["variables"] == {"medledger_module_secret": SECRET}
    assert (seen["mode"], seen["folder_mode"]) == (0o600, 0o700)
    assert not seen["file"].exists() and not seen["file"].parent.exists(), "removed afterwards"


def test_a_module_without_secrets_gets_no_variables_file(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_ansible(*args: str) -> subprocess.CompletedProcess[str]:
        seen.append(list(args))
        return subprocess.CompletedProcess(list(args), 0, "", "")

    monkeypatch.setattr(lab_clients, "ansible", fake_ansible)
    monkeypatch.setattr(lab_clients, "check_target", lambda _address: None)
    topology = Topology({"vm34": {"ansible_host": "172.20.29.34"}}, {"all": ["vm34"]})

    lab_clients.run_module(topology, "vm34", "ansible.builtin.stat", {"path": "/etc/medledger"})

    assert seen == [["vm34", "-b", "-m", "ansible.builtin.stat", "-a", '{"path": "/etc/medledger"}']]


def test_calls_of_a_module_on_several_hosts_are_one_playbook_run_with_every_argument_in_private_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def fake_ansible(*args: str) -> subprocess.CompletedProcess[str]:
        seen["argv"] = list(args)
        playbook, variables = Path(args[0]), Path(args[args.index("-e") + 1].removeprefix("@"))
        seen["modes"] = {mode(playbook), mode(variables), mode(playbook.parent)}
        seen["play"], seen["variables"] = json.loads(playbook.read_text()), json.loads(variables.read_text())
        seen["folder"] = playbook.parent
        return subprocess.CompletedProcess(list(args), 0, "", "")

    monkeypatch.setattr(lab_clients, "ansible", fake_ansible)
    monkeypatch.setattr(lab_clients, "check_target", lambda _address: None)
    hosts = ("vm31", "vm33")
    topology = Topology({host: {"ansible_host": f"172.20.29.{host[2:]}"} for host in hosts}, {"all": list(hosts)})
    calls = {"vm31": [{"name": "pat-1", "secret": SECRET}], "vm33": [{"name": "cqu-1", "secret": "x"}, {"name": "y"}]}

    lab_clients.run_module_calls(topology, "medledger_fabric_register", calls)

    assert not any(SECRET in arg for arg in seen["argv"]), seen["argv"]
    assert seen["argv"][0].endswith(".yml") and len(seen["argv"]) == 3
    assert seen["variables"] == {"medledger_module_calls": calls}
    assert seen["modes"] == {0o600, 0o700}
    (play,) = seen["play"]
    (task,) = play["tasks"]
    assert (play["hosts"], play["become"], task["no_log"]) == ("vm31:vm33", True, True)
    assert task["medledger_fabric_register"] == "{{ item }}"
    assert task["loop"] == "{{ medledger_module_calls[inventory_hostname] }}"
    assert not seen["folder"].exists(), "removed afterwards"


def test_calls_on_a_host_outside_the_lab_send_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_clients, "ansible", lambda *args: pytest.fail(f"ansible ran: {args}"))
    topology = Topology({"vm33": {"ansible_host": "203.0.113.9"}}, {"all": ["vm33"]})

    with pytest.raises(Exception, match=r"203\.0\.113\.9"):
        lab_clients.run_module_calls(topology, "medledger_fabric_register", {"vm33": [{"name": "pat-1"}]})


@pytest.mark.parametrize("tls", [False, True])
def test_enrolled_keys_are_0600_even_over_loose_files(tmp_path: Path, tls: bool) -> None:
    issued = issue("pat-1")
    enrolled = Enrolled(issued.certificate_pem, issued.certificate_pem, issued.key)
    key = tmp_path / ("server.key" if tls else "keystore/key.pem")
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_bytes(b"an older key, readable by everyone")
    key.chmod(0o644)

    enrolled.write_tls(tmp_path) if tls else enrolled.write_msp(tmp_path)

    assert mode(key) == 0o600
    assert key.read_bytes() == issued.key_pem
    certificate = tmp_path / ("server.crt" if tls else "signcerts/cert.pem")
    assert certificate.read_bytes() == issued.certificate_pem


def test_threads_asking_for_one_hosts_file_at_once_wait_for_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A load step's first requests all need the service's TLS chain: one Ansible run, not one per request
    (each costs seconds of CPU; thirty at once stalled the sharing benchmark for tens of seconds)."""
    reads: list[tuple[str, str]] = []
    started = threading.Event()

    def slow_read(_topology: Topology, host: str, path: str) -> bytes:
        reads.append((host, path))
        started.set()
        time.sleep(0.2)  # long enough for every other thread to ask meanwhile
        return f"{host}:{path}".encode()

    monkeypatch.setattr(lab_clients, "read_remote", slow_read)
    ledger = lab_clients.Ledger(Topology({"vm33": {"ansible_host": "172.20.29.33"}}, {"all": ["vm33"]}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _n: ledger.public_file("vm33", "/etc/chain.pem"), range(8)))

    assert started.is_set() and reads == [("vm33", "/etc/chain.pem")]
    assert answers == [b"vm33:/etc/chain.pem"] * 8
    assert ledger.public_file("vm33", "/etc/other.pem") == b"vm33:/etc/other.pem" and len(reads) == 2


def test_a_failed_playbook_reports_every_failed_task_not_only_its_tail() -> None:
    output = "\n".join([
        "PLAY [Submitted by the first signer] ****",
        "TASK [fabric_peer : Sign and submit it | datausagechannel] ****",
        "fatal: [vm30]: FAILED! => changed=false",
        "  stderr: 'datausagechannel: submitted 3 times, the update was never ordered'",
        "TASK [fabric_peer : Drop the submitted update | datausagechannel] ****",
        "ok: [vm31]",
        *[f"TASK [a later task {number}] ****\nchanged: [vm38]" for number in range(200)],
        "TASK [fabric_peer : Join the channel unless the peer has | datausagechannel] ****",
        "fatal: [vm38]: FAILED! => rc: 1",
        "PLAY RECAP ****",
        "vm30 : ok=41 changed=13 unreachable=0 failed=1",
    ])  # fmt: skip
    report = lab_clients.playbook_failures(output)
    assert "submitted 3 times, the update was never ordered" in report
    assert "Join the channel unless the peer has" in report
    assert "vm30 : ok=41 changed=13 unreachable=0 failed=1" in report
    assert "a later task" not in report and "Drop the submitted update" not in report
    assert lab_clients.playbook_failures("no task at all") == "no task at all"
