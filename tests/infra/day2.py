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
    assert result.returncode == 0, lab_clients.playbook_failures(result.stdout) + result.stderr[-2000:]
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


# Every Fabric identity's certificates on a host: its TLS certificate, and its enrolment certificate.
TLS_CERTIFICATES = "/etc/medledger/fabric/*/tls/server.crt"
ENROLMENT_CERTIFICATES = "/etc/medledger/fabric/*/msp/signcerts/cert.pem"


def certificate_fingerprints(*patterns: str) -> dict[tuple[str, str], str]:
    """(host, certificate) -> serial and public-key digest, for every certificate the patterns find on every host."""
    found = {}
    for name in deployed().hosts:
        listing = (
            lab_host(name)
            .run(
                f'for cert in {" ".join(patterns)}; do [ -e "$cert" ] || continue; '
                'echo "$cert $(openssl x509 -noout -serial -in $cert) '
                '$(openssl x509 -noout -pubkey -in $cert | sha256sum | cut -c1-16)"; done'
            )
            .stdout
        )
        for line in listing.splitlines():
            cert, fingerprint = line.split(" ", 1)
            found[(name, cert)] = fingerprint
    return found


def other_hosts(*excluded: str) -> list[str]:
    return [host for host in deployed().hosts if host not in excluded]


@contextlib.contextmanager
def patient_records(client: LedgerClient, peer: str) -> Iterator[Any]:
    """The Patient Channel's chaincode, through the peer's Gateway, as the client."""
    with client.gateway(peer) as gateway:
        yield gateway.contract(PATIENT_CHANNEL, client.ledger.chaincode_on(PATIENT_CHANNEL))


class Writer(threading.Thread):
    """A patient committing a record on the Patient Channel every half second, for as long as the `with` block
    that holds it lasts, through the first of `peers` (one peer, or several to fail over to: after a failure
    the next one is asked). A failure counts once no record has committed for `patience` seconds: none by
    default; a client that fails over while the network's nodes restart one at a time waits that long."""

    def __init__(self, client: LedgerClient, peers: str | list[str], prefix: str, patience: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.client, self.prefix, self.patience = client, prefix, patience
        self.peers = [peers] if isinstance(peers, str) else peers
        self.stopping = threading.Event()
        self.committed: list[str] = []
        self.failures: list[str] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def run(self) -> None:
        with contextlib.ExitStack() as stack:
            contracts = [stack.enter_context(patient_records(self.client, peer)) for peer in self.peers]
            current, last_commit, attempt = 0, time.monotonic(), 0
            while not self.stopping.is_set():
                treatment = f"{self.prefix}-{attempt}"
                attempt += 1
                try:
                    contracts[current].submit("SavePatientData", self.client.signed_record(treatment, b"x").to_json())
                    self.committed.append(treatment)
                    last_commit = time.monotonic()
                except Exception as error:  # every failure beyond the patience is reported by the test
                    current = (current + 1) % len(contracts)
                    if time.monotonic() - last_commit > self.patience:
                        self.failures.append(f"{treatment} via {self.peers[current - 1]}: {error}")
                time.sleep(0.5)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)


def assert_records_read_and_commit(client: LedgerClient, peers: list[str], written: list[str], prefix: str) -> None:
    """Through each peer, the records written are read and a new one commits."""
    for peer in peers:
        with patient_records(client, peer) as records:
            for treatment in written:
                assert records.evaluate("QueryByPidAndTid", client.name, treatment), (peer, treatment)
            records.submit("SavePatientData", client.signed_record(f"{prefix}-{peer}", b"r").to_json())
