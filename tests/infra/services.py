"""Clients of the deployed services for the lab tests: the registry and the hospital managers reached over
HTTPS (each address checked to be the lab's first), people registered through the registry as the paper's
phase ① does it, and the staff identities (managers, the SA) a hospital and the government hold."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api.common import Role
from medledger_api.registry import Registration
from medledger_client import appointments, enrolment, registration, sharing, storage
from medledger_client.gateway import Endpoint, Gateway
from medledger_client.identity import Identity
from medledger_client.service_client import ServiceClient
from medledger_client.sharing_keys import SharingKeys
from medledger_tools.lab_clients import CA_PORT, Ledger, LedgerClient, check_target

from .conftest import deployed

LEDGER = Ledger(deployed())
REGISTRY_HOST = deployed().members("registry")[0]
MSP_IDS = {name: str(spec["msp_id"]) for name, spec in deployed().organisations.items()}


def registry_address() -> str:
    values = deployed().hostvars[REGISTRY_HOST]
    address = str(values["ansible_host"])
    check_target(address)
    return f"{address}:{values['medledger_services']['registry']['port']}"


def registry_as(signer: Identity) -> ServiceClient:
    """The registry, verified by the TLS CA chain of its host's organisation (the peer beside it has the same)."""
    _, chain = LEDGER.peer_endpoint(REGISTRY_HOST)
    return ServiceClient(registry_address(), registration.AUDIENCE, signer, chain)


@dataclass(frozen=True)
class Person:
    identity: Identity
    registration: Registration
    rid: str
    secret: str
    keys: SharingKeys
    tls: enrolment.Enrolled  # its TLS client certificate, for the peers' Gateways

    def gateway(self, peer_host: str) -> Gateway:
        address, chain = LEDGER.peer_endpoint(peer_host)
        return Gateway(Endpoint(address, chain, self.tls.certificate_pem, self.tls.key_pem()), self.identity)

    @property
    def pid(self) -> str:
        return str(self.registration.pid)


def ca_address(organisation: str) -> str:
    address = str(deployed().hostvars[LEDGER.ca_host(organisation)]["ansible_host"])
    check_target(address)
    return f"{address}:{CA_PORT}"


def register(manager: LedgerClient, sa: LedgerClient, organisation: str, role: Role) -> Person:
    """The paper's phase ①: a key made here, the manager asks, the SA approves, the manager collects the
    secret, the person enrols with that key under its pseudonym and publishes its Umbral keys."""
    key = ec.generate_private_key(ec.SECP256R1())
    rid = f"lab-{secrets.token_hex(8)}"
    asked = registration.ask(registry_as(manager.identity), rid, role, MSP_IDS[organisation], key)
    registration.approve(registry_as(sa.identity), asked.request_id)
    collected = registration.collect(registry_as(manager.identity), asked.request_id)
    assert collected.pid is not None and collected.enrolment_secret is not None
    enrolled = enrolment.enrol(
        ca_address(organisation),
        f"ca-{organisation.lower()}",
        collected.pid,
        collected.enrolment_secret,
        LEDGER.tls_root(),
        key=key,
    )
    server = deployed().organisations[organisation]["ca"]
    tls = enrolment.enrol(
        ca_address(organisation),
        f"tlsca-{server}",
        collected.pid,
        collected.enrolment_secret,
        LEDGER.tls_root(),
        tls_profile=True,
    )
    identity = Identity(MSP_IDS[organisation], enrolled.certificate_pem, key)
    keys = SharingKeys.generate()
    registration.publish_keys(registry_as(identity), identity, collected.pid, keys)
    return Person(identity, collected, rid, collected.enrolment_secret, keys, tls)


def staff_of_the_services(folder: Path) -> dict[str, LedgerClient]:
    """A hospital's and a third party's managers, the government's SA, and a hospital member who claims the
    SA's role, each registered by its organisation's CA."""
    return {
        "manager": LEDGER.new_client("OrgPatient", folder, "manager", {"medledger.role": "manager"}),
        "thirdparty_manager": LEDGER.new_client("OrgThirdParty", folder, "manager", {"medledger.role": "manager"}),
        "sa": LEDGER.new_client("OrgGovernment", folder, "sa", {"medledger.role": "sa"}),
        "hospital_sa": LEDGER.new_client("OrgPatient", folder, "sa", {"medledger.role": "sa"}),
    }


def hospital_manager_as(host: str, signer: Identity) -> ServiceClient:
    """The hospital manager beside `host`'s peer, verified by the TLS CA chain of that peer's organisation."""
    values = deployed().hostvars[host]
    address = str(values["ansible_host"])
    check_target(address)
    _, chain = LEDGER.peer_endpoint(host)
    port = values["medledger_services"]["hospital_manager"]["port"]
    return ServiceClient(f"{address}:{port}", appointments.AUDIENCE, signer, chain)


STORAGE_HOST = deployed().members("storage")[0]


def storage_as(signer: Identity) -> ServiceClient:
    values = deployed().hostvars[STORAGE_HOST]
    address = str(values["ansible_host"])
    check_target(address)
    _, chain = LEDGER.peer_endpoint(STORAGE_HOST)
    port = values["medledger_services"]["storage"]["port"]
    return ServiceClient(f"{address}:{port}", storage.AUDIENCE, signer, chain)


def sharing_proxy_as(signer: Identity) -> ServiceClient:
    host = deployed().members("sharing_proxy")[0]
    values = deployed().hostvars[host]
    address = str(values["ansible_host"])
    check_target(address)
    _, chain = LEDGER.peer_endpoint(host)
    return ServiceClient(
        f"{address}:{values['medledger_services']['sharing_proxy']['port']}", sharing.AUDIENCE, signer, chain
    )
