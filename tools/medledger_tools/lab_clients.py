"""Clients of a deployed ledger for the lab tests and the benchmarks, as the paper's data client:
identities registered by the organisation's registrar (an Ansible module on the CA host), enrolled from
here (keys made by this process, never on a lab host), talking to peers' Gateways.

Every address is checked to be a lab container or loopback before any traffic, unless the operator
says the hosts are real with MEDLEDGER_REAL_HOSTS=1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medledger_api.entities import PatientDataEntity, data_digest
from medledger_client import enrolment
from medledger_client.enrolment import write_private
from medledger_client.gateway import Endpoint, Gateway
from medledger_client.identity import Identity, from_msp_folder

from .labsafety import assert_lab_target
from .paths import REPO_ROOT
from .topology import Topology, load

CA_PORT = 7054
CA_TLS_ROOT = "/etc/medledger/pki/tls-root.pem"
REGISTRARS = "/var/lib/medledger/fabric-ca/server/registrars"
# Module arguments that are secrets: never on the command line of ansible (where ps shows them).
SECRET_ARGUMENTS = frozenset({"secret"})


def lab_topology() -> Topology:
    """The topology ansible sees: ANSIBLE_INVENTORY's inventories (e.g. with the Raft overlay), else ansible.cfg's."""
    inventories = [name for name in os.environ.get("ANSIBLE_INVENTORY", "").split(",") if name]
    return load(*(inventories or [str(REPO_ROOT / "inventories" / name) for name in ("paper", "lab")]))


def check_target(address: str) -> None:
    if os.environ.get("MEDLEDGER_REAL_HOSTS") != "1":
        assert_lab_target(address)


def ansible(*args: str, strategy: str | None = None) -> subprocess.CompletedProcess[str]:
    """ansible-playbook (an argument ending .yml) or ansible ad hoc, against the inventory ansible.cfg
    (or ANSIBLE_INVENTORY) names, with ansible.cfg's strategy or `strategy`. Callers check the targets."""
    command = ["ansible-playbook", *args] if any(arg.endswith(".yml") for arg in args) else ["ansible", *args]
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", **({"ANSIBLE_STRATEGY": strategy} if strategy else {})),
    )


def playbook_failures(output: str) -> str:
    """What a failed ansible-playbook run printed about its failures: each task that failed on some host (its
    header and its hosts' answers) and the recap. A run's tail alone hides a failure on one host that the
    play went past (another host failing later ends the output)."""
    tasks = re.split(r"^(?=TASK \[|PLAY RECAP)", output, flags=re.M)
    failed = [task.strip() for task in tasks if re.search(r"^(fatal|failed): \[", task, re.M)]
    recap = [task.strip() for task in tasks if task.startswith("PLAY RECAP")]
    return "\n\n".join(failed + recap[-1:]) or output[-4000:]


def run_module(
    topology: Topology, host: str, module: str, arguments: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    """One Ansible module on a host, as root. Secret arguments (SECRET_ARGUMENTS) go to ansible in an
    extra-vars file, mode 0600 in a private temporary folder removed afterwards, and the command line names
    only the variable; like every variable they are templated (a Jinja expression, e.g. a lookup, works)."""
    check_target(str(topology.hostvars[host]["ansible_host"]))
    hidden = {f"medledger_module_{key}": value for key, value in arguments.items() if key in SECRET_ARGUMENTS}
    shown = {
        key: "{{ medledger_module_" + key + " }}" if key in SECRET_ARGUMENTS else value
        for key, value in arguments.items()
    }
    with tempfile.TemporaryDirectory(prefix="medledger-module-") as private:
        extra: list[str] = []
        if hidden:
            path = os.path.join(private, "secrets.json")
            write_private(path, json.dumps(hidden).encode())
            extra = ["-e", f"@{path}"]
        return ansible(host, "-b", "-m", module, "-a", json.dumps(shown), *extra)


def run_module_calls(
    topology: Topology, module: str, calls: Mapping[str, Sequence[dict[str, Any]]]
) -> subprocess.CompletedProcess[str]:
    """A module called once per set of arguments on each host of `calls`, as root, in one ansible-playbook run
    (an ad hoc run per call costs seconds of CPU each). Every argument goes to ansible in an extra-vars file,
    mode 0600 in a private temporary folder removed afterwards, and the calls' output is hidden (no_log): a
    loop's result names its item, secrets included."""
    for host in calls:
        check_target(str(topology.hostvars[host]["ansible_host"]))
    play = [
        {
            "name": f"{module} on {', '.join(calls)}",
            "hosts": ":".join(calls),
            "gather_facts": False,
            "become": True,
            "tasks": [
                {
                    "name": f"Call {module}",
                    module: "{{ item }}",
                    "loop": "{{ medledger_module_calls[inventory_hostname] }}",
                    "no_log": True,
                }
            ],
        }
    ]
    with tempfile.TemporaryDirectory(prefix="medledger-module-") as private:
        variables, playbook = os.path.join(private, "calls.json"), os.path.join(private, "calls.yml")
        write_private(variables, json.dumps({"medledger_module_calls": calls}).encode())
        write_private(playbook, json.dumps(play).encode())
        return ansible(playbook, "-e", f"@{variables}")


def read_remote(topology: Topology, host: str, path: str) -> bytes:
    """A (public) file of a host, e.g. a CA chain."""
    check_target(str(topology.hostvars[host]["ansible_host"]))
    result = ansible(host, "-b", "-o", "-m", "ansible.builtin.slurp", "-a", json.dumps({"src": path}))
    if result.returncode != 0:
        raise RuntimeError(f"{host}:{path}: {result.stdout[-500:]}")
    return base64.b64decode(json.loads(result.stdout.split("=>", 1)[1])["content"])


@dataclass
class Ledger:
    """The deployed network as its clients see it."""

    topology: Topology
    _files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    _reading: threading.Lock = field(default_factory=threading.Lock)

    def channel_peers(self, channel: str) -> list[str]:
        return [host for host in self.topology.members("peers") if channel in self.topology.peer_channels(host)]

    def chaincode_on(self, channel: str) -> str:
        chaincodes = self.topology.global_var("medledger_chaincodes")
        return str(next(cc["name"] for cc in chaincodes if cc["channel"] == channel))

    def peer_endpoint(self, peer_host: str) -> tuple[str, bytes]:
        """The peer's address and the CA chain of its TLS certificate (peers present it alone)."""
        values = self.topology.hostvars[peer_host]
        address = str(values["ansible_host"])
        check_target(address)
        chain = self.public_file(peer_host, f"/etc/medledger/fabric/{values['fabric_peer_name']}/tls/ca.crt")
        return f"{address}:{values.get('fabric_peer_port', 7051)}", chain

    def public_file(self, host: str, path: str) -> bytes:
        """A public file of a lab host (a CA chain), read once. Each read is an Ansible run, seconds of CPU:
        threads asking at once (a load step's first requests) wait for one read instead of starting one each."""
        with self._reading:
            if (host, path) not in self._files:
                self._files[host, path] = read_remote(self.topology, host, path)
            return self._files[host, path]

    def ca_host(self, organisation: str) -> str:
        server = self.topology.organisations[organisation]["ca"]
        return next(h for h in self.topology.members("cas") if self.topology.hostvars[h]["fabric_ca_name"] == server)

    def tls_root(self) -> bytes:
        return self.public_file(self.topology.members("cas")[0], CA_TLS_ROOT)

    def new_client(
        self,
        organisation: str,
        folder: Path,
        prefix: str,
        attributes: dict[str, str] | None = None,
        *,
        enrolment_id: str | None = None,
        kind: str = "client",
    ) -> LedgerClient:
        """Register a fresh identity of the organisation at its CA and TLS CA, then enrol both from here. Its
        enrolment ID is `prefix-<random>`, or exactly `enrolment_id` (e.g. another organisation's PID, to
        show that a CA's word on a name is not enough); an ID either CA already knows fails to enrol. `kind`
        is its Fabric type (OU): a client, or e.g. an orderer whose key an insider holds."""
        wanted = NewClient(organisation, prefix, attributes or {}, enrolment_id=enrolment_id, kind=kind)
        return self.new_clients(folder, [wanted])[0]

    def new_clients(self, folder: Path, wanted: Sequence[NewClient]) -> list[LedgerClient]:
        """new_client for each of `wanted`, registered at their CA servers in one Ansible run."""
        named = [(client, client.enrolment_id or f"{client.prefix}-{secrets.token_hex(4)}") for client in wanted]
        secret_of = {name: secrets.token_urlsafe(18) for _client, name in named}
        calls: dict[str, list[dict[str, Any]]] = {}
        for client, name in named:
            host = self.ca_host(client.organisation)
            check_target(str(self.topology.hostvars[host]["ansible_host"]))
            for ca_name, attributes in ((self.organisation_ca(client.organisation), client.attributes),
                                        (self.tls_ca(client.organisation), {})):  # fmt: skip
                calls.setdefault(host, []).append(
                    {
                        "name": name,
                        "secret": secret_of[name],
                        "type": client.kind,
                        "affiliation": client.organisation.lower(),
                        "attributes": attributes,
                        "max_enrollments": 1,  # enrolled once, from here
                        "ca_address": f"127.0.0.1:{CA_PORT}",
                        "ca_name": ca_name,
                        "tls_root": CA_TLS_ROOT,
                        "registrar_home": f"{REGISTRARS}/{ca_name}",
                    }
                )
        registered = run_module_calls(self.topology, "medledger_fabric_register", calls)
        if registered.returncode != 0:
            names = ", ".join(name for _client, name in named)
            raise RuntimeError(f"registering {names}: {registered.stdout[-1000:]}")
        return [self.enrol_client(folder, client.organisation, name, secret_of[name]) for client, name in named]

    def organisation_ca(self, organisation: str) -> str:
        return f"ca-{organisation.lower()}"

    def tls_ca(self, organisation: str) -> str:
        return f"tlsca-{self.topology.organisations[organisation]['ca']}"

    def enrol_client(self, folder: Path, organisation: str, name: str, secret: str) -> LedgerClient:
        """Enrol a registered identity at its organisation's CA and TLS CA, with keys made here."""
        address = f"{self.topology.hostvars[self.ca_host(organisation)]['ansible_host']}:{CA_PORT}"
        home = folder / organisation / name  # one enrolment ID may be enrolled by two organisations' CAs
        msp = enrolment.enrol(address, self.organisation_ca(organisation), name, secret, self.tls_root())
        msp.write_msp(home / "msp")
        tls = enrolment.enrol(address, self.tls_ca(organisation), name, secret, self.tls_root(), tls_profile=True)
        tls.write_tls(home / "tls")
        msp_id = str(self.topology.organisations[organisation]["msp_id"])
        return LedgerClient(self, name, from_msp_folder(home / "msp", msp_id), home / "tls")


def signed_record(patient: Identity, treatment: str, data: bytes) -> PatientDataEntity:
    """The record a patient saves for its data (the doctor's signature is a stand-in)."""
    return PatientDataEntity.signed_by(
        patient,
        treatment=treatment,
        digest=data_digest(data),
        url=f"https://storage.medledger.lab/{patient.enrolment_id}/{treatment}",
        doctor="doc-0001",
        doctor_signature=patient.sign(b"doctor").hex(),
    )


@dataclass(frozen=True)
class NewClient:
    """An identity Ledger.new_clients registers and enrols: see Ledger.new_client."""

    organisation: str
    prefix: str
    attributes: dict[str, str] = field(default_factory=dict)
    enrolment_id: str | None = None
    kind: str = "client"


@dataclass(frozen=True)
class LedgerClient:
    ledger: Ledger
    name: str
    identity: Identity
    tls_folder: Path

    @property
    def folder(self) -> Path:
        """Where the client was enrolled: msp/ (signcerts/, keystore/, cacerts/) and tls/, on the control node."""
        return self.tls_folder.parent

    def gateway(self, peer_host: str) -> Gateway:
        address, chain = self.ledger.peer_endpoint(peer_host)
        endpoint = Endpoint(
            address, chain, (self.tls_folder / "server.crt").read_bytes(), (self.tls_folder / "server.key").read_bytes()
        )
        return Gateway(endpoint, self.identity)

    def signed_record(self, treatment: str, data: bytes) -> PatientDataEntity:
        return signed_record(self.identity, treatment, data)
