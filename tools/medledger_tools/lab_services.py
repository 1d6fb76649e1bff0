"""Clients of the deployed services for the lab tests and the benchmarks: each service reached over HTTPS at the
first host of its group (or a given one), verified by the TLS CA chain of the service's own certificate; people
registered through the registry as the paper's phase ① does it; the staff a hospital and the government hold.
Every address is checked to be a lab container first (lab_clients.check_target)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api.common import Role
from medledger_api.entities import PatientDataEntity, patient_signature_message
from medledger_api.registry import Registration
from medledger_client import appointments, enrolment, registration, sharing, storage
from medledger_client.gateway import Contract, Endpoint, Gateway
from medledger_client.identity import Identity
from medledger_client.records import SealedRecord, seal_record
from medledger_client.service_client import ServiceClient
from medledger_client.sharing_keys import SharingKeys

from .lab_clients import CA_PORT, Ledger, LedgerClient, NewClient, check_target
from .topology import service_identity_name

PATIENT_CHANNEL, USAGE_CHANNEL = "patientchannel", "datausagechannel"
AUDIENCES = {
    "registry": registration.AUDIENCE,
    "hospital_manager": appointments.AUDIENCE,
    "storage": storage.AUDIENCE,
    "sharing_proxy": sharing.AUDIENCE,
}


@dataclass(frozen=True)
class Registered:
    """Someone the registry registered: its enrolment, its TLS client certificate, its Umbral keys."""

    identity: Identity
    registration: Registration
    rid: str
    secret: str
    keys: SharingKeys
    tls: enrolment.Enrolled

    @property
    def pid(self) -> str:
        return str(self.registration.pid)


@dataclass(frozen=True)
class Person(Registered):
    """Someone the registry on the lab registered, who reaches the lab's peers."""

    ledger: Ledger

    def gateway(self, peer_host: str) -> Gateway:
        address, chain = self.ledger.peer_endpoint(peer_host)
        return Gateway(Endpoint(address, chain, self.tls.certificate_pem, self.tls.key_pem()), self.identity)


@dataclass(frozen=True)
class CaServer:
    """Where an organisation's people enrol: its CA server, its enrolment CA and its TLS CA."""

    address: str
    ca_name: str
    tls_ca_name: str
    tls_root: bytes


def register_person(
    registry_as: Callable[[Identity], ServiceClient],
    manager: Identity,
    sa: Identity,
    *,
    msp_id: str,
    role: Role,
    ca: CaServer,
) -> Registered:
    """The paper's phase ①: a key made here, the manager asks, the SA approves, the manager collects the secret,
    the person enrols with that key under its pseudonym (and for a TLS client certificate) and publishes its
    Umbral keys."""
    key = ec.generate_private_key(ec.SECP256R1())
    rid = f"rid-{secrets.token_hex(8)}"
    asked = registration.ask(registry_as(manager), rid, role, msp_id, key)
    registration.approve(registry_as(sa), asked.request_id)
    collected = registration.collect(registry_as(manager), asked.request_id)
    if collected.pid is None or collected.enrolment_secret is None:
        raise RuntimeError(f"registration {asked.request_id} was approved but carries no PID or secret")
    enrolled = enrolment.enrol(ca.address, ca.ca_name, collected.pid, collected.enrolment_secret, ca.tls_root, key=key)
    tls = enrolment.enrol(ca.address, ca.tls_ca_name, collected.pid, collected.enrolment_secret, ca.tls_root,
                          tls_profile=True)  # fmt: skip
    identity = Identity(msp_id, enrolled.certificate_pem, key)
    keys = SharingKeys.generate()
    registration.publish_keys(registry_as(identity), identity, collected.pid, keys)
    return Registered(identity, collected, rid, collected.enrolment_secret, keys, tls)


def store_and_index(
    storage_client: ServiceClient,
    records: Contract,
    *,
    patient: Registered,
    doctor: Registered,
    treatment: str,
    ciphertext: Path,
    digest: str,
) -> PatientDataEntity:
    """The paper's phase ④ for a sealed record: stored, then indexed on the Patient Channel (`records`, the
    patient's contract there) with the doctor's and the patient's signatures over its digest."""
    stored = storage.store(storage_client, ciphertext)
    record = PatientDataEntity.signed_by(
        patient.identity,
        treatment=treatment,
        digest=digest,
        url=stored.url,
        doctor=doctor.pid,
        doctor_signature=doctor.identity.sign(patient_signature_message(digest, patient.pid)).hex(),
    )
    records.submit("SavePatientData", record.to_json())
    return record


def sealed_record(person: Registered, folder: Path, size: int = 1 << 20) -> tuple[Path, bytes, SealedRecord]:
    """An EMR and SHR of `size` bytes together, sealed for `person` (its data key wrapped to its Umbral key): the
    ciphertext's file, the plaintext, the sealed record."""
    emr, shr, ciphertext = folder / "emr.bin", folder / "shr.bin", folder / "record.sealed"
    emr_data, shr_data = secrets.token_bytes(size // 2), secrets.token_bytes(size // 2)
    emr.write_bytes(emr_data)
    shr.write_bytes(shr_data)
    sealed = seal_record(emr, shr, ciphertext, person.keys.public_key)
    return ciphertext, emr_data + shr_data, sealed


@dataclass(frozen=True)
class Services:
    ledger: Ledger

    def client(self, service: str, signer: Identity, host: str | None = None) -> ServiceClient:
        """`service` (a key of medledger_services) at `host`, or at the first host of its group, as `signer`."""
        topology = self.ledger.topology
        host = host or topology.members(service)[0]
        values = topology.hostvars[host]
        address = str(values["ansible_host"])
        check_target(address)
        identity = service_identity_name(str(values["fabric_peer_name"]), service)
        chain = self.ledger.public_file(host, f"/etc/medledger/fabric/{identity}/tls/ca.crt")
        port = values["medledger_services"][service]["port"]
        return ServiceClient(f"{address}:{port}", AUDIENCES[service], signer, chain)

    def usage_records(self, reader: Person, peer_host: str, patient: str, treatment: str) -> list[dict[str, Any]]:
        """The usage records of a patient's treatment on the Data Usage Channel, as `reader` reads them there."""
        with reader.gateway(peer_host) as gateway:
            answer = gateway.contract(USAGE_CHANNEL, self.ledger.chaincode_on(USAGE_CHANNEL)).evaluate(
                "QueryByPidAndTid", patient, treatment
            )
        return list(json.loads(answer))

    def store_and_index(
        self, patient: Person, doctor: Person, treatment: str, ciphertext: Path, digest: str
    ) -> PatientDataEntity:
        channel = PATIENT_CHANNEL
        with patient.gateway(self.ledger.channel_peers(channel)[0]) as gateway:
            records = gateway.contract(channel, self.ledger.chaincode_on(channel))
            return store_and_index(self.client("storage", patient.identity), records, patient=patient, doctor=doctor,
                                   treatment=treatment, ciphertext=ciphertext, digest=digest)  # fmt: skip

    def ca_address(self, organisation: str) -> str:
        address = str(self.ledger.topology.hostvars[self.ledger.ca_host(organisation)]["ansible_host"])
        check_target(address)
        return f"{address}:{CA_PORT}"

    def msp_id(self, organisation: str) -> str:
        return str(self.ledger.topology.organisations[organisation]["msp_id"])

    def staff(self, folder: Path) -> dict[str, LedgerClient]:
        """A hospital's and a third party's managers, the government's SA, and a hospital member who claims
        the SA's role, each registered by its organisation's CA."""
        wanted = {
            "manager": NewClient("OrgPatient", "manager", {"medledger.role": "manager"}),
            "thirdparty_manager": NewClient("OrgThirdParty", "manager", {"medledger.role": "manager"}),
            "sa": NewClient("OrgGovernment", "sa", {"medledger.role": "sa"}),
            "hospital_sa": NewClient("OrgPatient", "sa", {"medledger.role": "sa"}),
        }
        return dict(zip(wanted, self.ledger.new_clients(folder, list(wanted.values())), strict=True))

    def register(self, manager: LedgerClient, sa: LedgerClient, organisation: str, role: Role) -> Person:
        """register_person through the lab's registry and the organisation's CA server."""
        server = self.ledger.topology.organisations[organisation]["ca"]
        ca = CaServer(self.ca_address(organisation), f"ca-{organisation.lower()}", f"tlsca-{server}",
                      self.ledger.tls_root())  # fmt: skip
        registered = register_person(partial(self.client, "registry"), manager.identity, sa.identity,
                                     msp_id=self.msp_id(organisation), role=role, ca=ca)  # fmt: skip
        found = {field.name: getattr(registered, field.name) for field in fields(registered)}
        return Person(**found, ledger=self.ledger)
