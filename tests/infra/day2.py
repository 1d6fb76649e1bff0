"""What the day-2 tests share: running a playbook, what it changed, which services restarted, and a patient
committing records while an operation runs."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Self

import pytest

from medledger_tools import lab_clients, topology
from medledger_tools.lab_clients import LedgerClient
from medledger_tools.paths import REPO_ROOT

from .conftest import deployed, lab_host

PATIENT_CHANNEL = "patientchannel"
# The units whose restart would show that an operation touched a host it had no business with.
UNITS = "'fabric-*' 'medledger-*' kafka.service zookeeper.service seaweedfs.service 'postgresql*'"


def grown_lab(inventories: list[str], monkeypatch: pytest.MonkeyPatch) -> topology.Topology:
    """The lab grown by the containers of hosts the inventories add; ansible (and the lab's target check) see
    those inventories for the rest of the test."""
    up = subprocess.run(
        [sys.executable, "-m", "medledger_tools.lab", "up", "--inventory", *inventories],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    monkeypatch.setenv("ANSIBLE_INVENTORY", ",".join(inventories))
    return topology.load(*inventories)


def on_grown_host(host: str, command: str) -> str:
    """A shell command's output on a host only the grown inventory knows (lab_host reads the base one)."""
    result = lab_clients.ansible(host, "-b", "-m", "ansible.builtin.shell", "-a", command)
    assert result.returncode == 0, result.stdout[-2000:]
    return result.stdout.split(">>", 1)[1].strip()


def playbook(*args: str) -> subprocess.CompletedProcess[str]:
    result = lab_clients.ansible(*args)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def changed_hosts(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    recap = dict(re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", result.stdout.split("PLAY RECAP")[1], re.M))
    return {host: int(changed) for host, changed in recap.items() if int(changed)}


def invocations(hosts: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each running unit's invocation ID on each host: it changes when the unit restarts."""
    found = {}
    for host in hosts:
        machine = lab_host(host)
        units = machine.check_output(
            f"systemctl list-units --type=service --state=running --no-legend --plain {UNITS} | cut -d' ' -f1"
        ).split()
        ids = machine.check_output(f"systemctl show -p InvocationID --value {' '.join(units)}").split()
        found[host] = dict(zip(units, ids, strict=True))
    return found


def other_hosts(*excluded: str) -> list[str]:
    return [host for host in deployed().hosts if host not in excluded]


@contextlib.contextmanager
def patient_records(client: LedgerClient, peer: str) -> Iterator[Any]:
    """The Patient Channel's chaincode, through the peer's Gateway, as the client."""
    with client.gateway(peer) as gateway:
        yield gateway.contract(PATIENT_CHANNEL, client.ledger.chaincode_on(PATIENT_CHANNEL))


class Writer(threading.Thread):
    """A patient committing a record on the Patient Channel every half second through one peer, for as long as
    the `with` block that holds it lasts."""

    def __init__(self, client: LedgerClient, peer: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.client, self.peer, self.prefix = client, peer, prefix
        self.stopping = threading.Event()
        self.committed: list[str] = []
        self.failures: list[str] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def run(self) -> None:
        with patient_records(self.client, self.peer) as records:
            while not self.stopping.is_set():
                treatment = f"{self.prefix}-{len(self.committed) + len(self.failures)}"
                try:
                    records.submit("SavePatientData", self.client.signed_record(treatment, b"x").to_json())
                    self.committed.append(treatment)
                except Exception as error:  # every failure is reported by the test
                    self.failures.append(f"{treatment}: {error}")
                time.sleep(0.5)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
