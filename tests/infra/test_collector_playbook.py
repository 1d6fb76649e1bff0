"""playbooks/collector.yml on the lab (inventories/collector: one emulated board, or3-01, on vm30 with the six
simulated instruments cabled to it): the firmware built on the control node and its hash printed, the board's
flash read back against it, the board's uplink key generated on the host (0600, the collectors' user's, in no
output), readings arriving at the board's gateway. A second run changes nothing; a flash altered on the host is
written again and the board restarted on it. The board is stopped at the end: emulated, it takes a share of a
CPU for as long as it runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from medledger_tools import lab_clients

from ..firmware.collector_board import ELF, build_elf
from .conftest import inventory_paths, lab_host
from .day2 import changed_hosts, playbook

pytestmark = pytest.mark.lab

HOST, BOARD, COLLECTOR = "vm30", "or3-01", "collector-or3-01"
UNITS = [f"medledger-collector-{kind}@{BOARD}" for kind in ("board", "gateway")] + [
    f"medledger-instrument-simulators@{BOARD}"
]
FLASH = f"/var/lib/medledger/collector/{BOARD}/flash.elf"
KEY = f"/etc/medledger/collector/{BOARD}/uplink.key"


@pytest.fixture
def with_collectors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ANSIBLE_INVENTORY", ",".join([*inventory_paths(), "inventories/collector"]))
    yield
    lab_host(HOST).run(f"systemctl stop medledger-collector-board@{BOARD}")


def gateway_status() -> dict[str, dict[str, object]]:
    command = (
        "runuser -u medledger-collector -- /opt/medledger/services-venv/bin/medledger-collector-gateway status "
        f"--database /var/lib/medledger/collector/{BOARD}/gateway.sqlite"
    )
    return dict(json.loads(lab_host(HOST).check_output(command)))


def started() -> dict[str, str]:
    host = lab_host(HOST)
    return {unit: host.check_output(f"systemctl show -p InvocationID --value {unit}") for unit in UNITS}


@pytest.mark.usefixtures("with_collectors")
def test_the_playbook_flashes_verifies_provisions_and_starts_the_board_and_readings_arrive() -> None:
    built = hashlib.sha256(build_elf().read_bytes()).hexdigest()
    first = playbook("playbooks/collector.yml")
    assert f"collector firmware {ELF.name} sha256 {built}" in first.stdout

    host = lab_host(HOST)
    assert host.check_output(f"sha256sum {FLASH}").split()[0] == built
    key = host.file(KEY)
    assert (key.mode, key.user) == (0o600, "medledger-collector")
    assert host.check_output(f"cat {KEY}") not in first.stdout + first.stderr
    assert all(host.service(unit).is_running for unit in UNITS)
    status = gateway_status()[COLLECTOR]
    assert int(str(status["sessions"])) >= 1 and int(str(status["readings"])) > 0

    assert changed_hosts(playbook("playbooks/collector.yml")) == {}

    before = started()
    host.check_output(f"truncate -s 1024 {FLASH}")
    rewritten = playbook("playbooks/collector.yml")
    assert host.check_output(f"sha256sum {FLASH}").split()[0] == built
    assert set(changed_hosts(rewritten)) == {HOST}
    after = started()
    assert all(after[unit] != before[unit] for unit in UNITS), "the board and what follows it restarted"


def test_a_board_with_a_malformed_identity_is_refused_before_any_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_INVENTORY", ",".join([*inventory_paths(), "inventories/collector"]))
    refused = lab_clients.ansible(
        "playbooks/collector.yml", "-e", '{"collector_boards": [{"name": "or3-01", "id": "short", "kind": "emulated"}]}'
    )
    assert refused.returncode != 0
    assert "an id of exactly 16 printable ASCII characters" in " ".join(refused.stdout.split())
    assert "PLAY [Base of the collectors' hosts" not in refused.stdout
