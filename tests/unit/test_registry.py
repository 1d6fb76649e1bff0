"""The registry's routes (medledger_registry): who may ask, who approves, what the pseudonym is, what is kept and
what is handed out once; every refusal a 4xx that leaves nothing behind. The store and the CAs are stand-ins
here (an in-memory store with the PostgreSQL store's transaction semantics); tests/infra/test_services.py runs
the deployed service against PostgreSQL and the lab's CAs."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from medledger_api.common import Role
from medledger_api.registry import (
    DirectoryEntry,
    Registration,
    RegistrationState,
    RegistrationSummary,
    SharingKeysPublication,
    sharing_keys_statement,
)
from medledger_client.enrolment import EnrolmentError
from medledger_client.sealed_box import open_sealed
from medledger_client.sharing_keys import SharingKeys
from medledger_registry.app import build
from medledger_registry.pseudonyms import RID_CONTEXT, pid_of
from medledger_registry.settings import RegistrarSettings, RegistrySettings
from medledger_registry.store import AlreadyRegistered, Approval, NotFound, StoredRequest
from medledger_service_base.database import DatabaseSettings
from medledger_service_base.settings import TLSFiles

from ..openapi_conformance import assert_conforms
from .certificates import Issued
from .organisations import Nonces, Organisation, User, send_signed, user_certificate

GOVERNMENT = "OrgGovernmentMSP"
AUDIENCE = "registry"


class MemoryStore:
    """The PostgreSQL store's behaviour in memory: unique lookup hashes, approvals all or nothing."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, StoredRequest] = {}
        self.lookups: set[bytes] = set()
        self.directory: dict[str, tuple[str, SharingKeysPublication]] = {}

    def add(self, request: StoredRequest, rid_lookup: bytes) -> None:
        if rid_lookup in self.lookups:
            raise AlreadyRegistered
        self.lookups.add(rid_lookup)
        self.rows[request.request_id] = request

    def pending(self) -> list[RegistrationSummary]:
        return [row.summary() for row in self.rows.values() if row.state is RegistrationState.PENDING]

    def get(self, request_id: uuid.UUID) -> StoredRequest:
        if request_id not in self.rows:
            raise NotFound
        return self.rows[request_id]

    def approve(self, request_id: uuid.UUID, decide: Callable[[StoredRequest], Approval]) -> StoredRequest:
        approval = decide(self.get(request_id))
        self.rows[request_id] = dataclasses.replace(
            self.rows[request_id],
            state=RegistrationState.APPROVED,
            pid=approval.pid,
            sealed_rid=approval.sealed_rid,
            rid_encrypted=approval.rid_encrypted,
            enrolment_secret=approval.enrolment_secret,
        )
        return self.rows[request_id]

    def deliver(self, request_id: uuid.UUID, requester: str) -> Registration:
        stored = self.get(request_id)
        if stored.requester != requester:
            raise NotFound
        self.rows[request_id] = dataclasses.replace(stored, enrolment_secret=None)
        return stored.registration(with_secret=True)

    def registered(self, pid: str) -> StoredRequest:
        found = [row for row in self.rows.values() if row.pid == pid]
        if not found:
            raise NotFound
        return found[0]

    def publish(self, pid: str, certificate: str, keys: SharingKeysPublication) -> None:
        self.directory[pid] = (certificate, keys)

    def entry(self, pid: str) -> DirectoryEntry:
        if pid not in self.directory:
            raise NotFound
        row = self.registered(pid)
        certificate, keys = self.directory[pid]
        return DirectoryEntry(
            pid=pid, msp_id=row.organisation, role=row.role, certificate=certificate, sharing_keys=keys
        )


class Registrars:
    def __init__(self) -> None:
        self.registered: list[tuple[str, str, Role, str]] = []
        self.refusal: str | None = None

    def register(self, msp_id: str, pid: str, role: Role, secret: str) -> None:
        if self.refusal:
            raise EnrolmentError(self.refusal)
        self.registered.append((msp_id, pid, role, secret))


@dataclasses.dataclass
class Registry:
    client: TestClient
    store: MemoryStore
    registrars: Registrars
    manager: Issued
    sa: Issued

    def send(self, user: Issued, method: str, path: str, body: Any = None) -> httpx2.Response:
        return send_signed(self.client, user, method, path, body, audience=AUDIENCE)

    def request(self, key: ec.EllipticCurvePrivateKey, **fields: str) -> httpx2.Response:
        return self.request_by(self.manager, key, **fields)

    def request_by(self, manager: Issued, key: ec.EllipticCurvePrivateKey, **fields: str) -> httpx2.Response:
        body = {"rid": "rid-1", "role": "patient", "organisation": "OrgPatientMSP", "public_key": pem(key), **fields}
        return self.send(manager, "POST", "/registrations", body)

    def registered(self, rid: str, key: ec.EllipticCurvePrivateKey) -> Registration:
        asked = self.request(key, rid=rid)
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["request_id"]
        assert self.send(self.sa, "POST", f"/registrations/{request_id}/approval").status_code == 200
        return Registration.model_validate(self.send(self.manager, "GET", f"/registrations/{request_id}").json())


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def government() -> Organisation:
    return Organisation.made(GOVERNMENT)


@pytest.fixture
def registry(
    tmp_path: Path, hospital: Organisation, third_party: Organisation, government: Organisation
) -> Iterator[Registry]:
    keys = {name: tmp_path / f"{name}.key" for name in ("rid-encryption", "rid-lookup")}
    for key, digits in zip(keys.values(), ("11", "22"), strict=True):
        key.write_text(f"{digits * 32}\n")
        key.chmod(0o600)
    registrar = RegistrarSettings(
        ca_address="ca0:7054",
        ca_name="ca-orgpatient",
        tls_ca_name="tlsca-ca0",
        affiliation="orgpatient",
        msp=tmp_path,
        tls=TLSFiles(certificate=tmp_path / "registrar.crt", key=tmp_path / "registrar.key"),
        roles=(Role.PATIENT, Role.DOCTOR),
    )
    settings = RegistrySettings(
        audience=AUDIENCE,
        host="127.0.0.1",
        port=8443,
        tls=TLSFiles(certificate=tmp_path / "tls.crt", key=tmp_path / "tls.key"),
        organisations={org.msp_id: org.write(tmp_path) for org in (hospital, third_party, government)},
        database=DatabaseSettings(
            name="registry", user="registry", password_file=keys["rid-lookup"], server_ca=keys["rid-lookup"]
        ),
        rid_encryption_key_file=keys["rid-encryption"],
        rid_lookup_key_file=keys["rid-lookup"],
        approver_msp_id=GOVERNMENT,
        ca_tls_root=keys["rid-lookup"],
        registrars={
            hospital.msp_id: registrar,
            third_party.msp_id: registrar.model_copy(
                update={"ca_name": "ca-orgthirdparty", "roles": (Role.THIRD_PARTY,)}
            ),
        },
    )
    store, registrars = MemoryStore(), Registrars()
    manager = user_certificate("manager-0001", hospital.ca, {"medledger.role": "manager"})
    sa = user_certificate("sa-0001", government.ca, {"medledger.role": "sa"})
    with TestClient(build(settings, store, registrars, Nonces())) as client:
        yield Registry(client, store, registrars, manager, sa)


def test_an_approved_registration_gives_the_papers_pseudonym_registered_at_the_persons_ca(registry: Registry) -> None:
    key = new_key()
    asked = registry.request(key, rid="NHS 943 476 5919")
    assert (asked.status_code, asked.json()["state"]) == (202, "pending")
    request_id = asked.json()["request_id"]
    listed = registry.send(registry.sa, "GET", "/registrations").json()
    assert [(entry["request_id"], entry["role"]) for entry in listed] == [(request_id, "patient")]
    assert "rid" not in json.dumps(listed) and "NHS" not in json.dumps(listed)

    approved = registry.send(registry.sa, "POST", f"/registrations/{request_id}/approval").json()
    assert approved["enrolment_secret"] is None  # the SA does not see it
    sealed = base64.b64decode(approved["sealed_rid"])
    assert approved["pid"] == pid_of(sealed)  # PID = SHA-384 over the RID sealed to the person's key
    assert open_sealed(key, sealed, RID_CONTEXT) == b"NHS 943 476 5919"
    ((msp_id, pid, role, secret),) = registry.registrars.registered
    assert (msp_id, pid, role) == ("OrgPatientMSP", approved["pid"], Role.PATIENT)

    collected = registry.send(registry.manager, "GET", f"/registrations/{request_id}").json()
    assert (collected["state"], collected["enrolment_secret"]) == ("approved", secret)
    again = registry.send(registry.manager, "GET", f"/registrations/{request_id}").json()
    assert again["enrolment_secret"] is None  # handed out once
    assert b"NHS" not in registry.store.rows[uuid.UUID(request_id)].rid_encrypted


def test_one_person_registers_once_whatever_the_spelling_of_their_rid(registry: Registry) -> None:
    registry.registered("NHS 943 476 5919", new_key())
    again = registry.request(new_key(), rid=" NHS 943 476 5919 ")
    assert (again.status_code, again.json()["detail"]) == (409, "this person is already registered or being registered")
    assert len(registry.store.rows) == 1


def test_only_a_manager_asks_and_only_for_its_own_organisations_kinds_of_people(
    registry: Registry, hospital: Organisation, third_party: Organisation
) -> None:
    key = new_key()
    patient = user_certificate("pid-" + "1" * 60, hospital.ca, {"medledger.role": "patient"})
    outside = user_certificate("manager-cqu", third_party.ca, {"medledger.role": "manager"})
    refusals = {
        "a patient": registry.request_by(patient, key, rid="rid-1"),
        "another organisation's manager": registry.request_by(outside, key, rid="rid-2"),
        "a kind the organisation has not": registry.request(key, rid="rid-3", role="thirdparty"),
    }
    assert {who: answer.status_code for who, answer in refusals.items()} == dict.fromkeys(refusals, 403)
    assert refusals["another organisation's manager"].json()["detail"] == (
        "a manager of OrgThirdPartyMSP registers only its own people"
    )
    assert registry.store.rows == {}


def test_only_the_sa_approves(registry: Registry, hospital: Organisation) -> None:
    request_id = registry.request(new_key()).json()["request_id"]
    hospital_sa = user_certificate("sa-0002", hospital.ca, {"medledger.role": "sa"})
    for who in (registry.manager, hospital_sa):
        assert registry.send(who, "POST", f"/registrations/{request_id}/approval").status_code == 403
        assert registry.send(who, "GET", "/registrations").status_code == 403
    assert registry.store.pending()[0].request_id == uuid.UUID(request_id)
    assert registry.registrars.registered == []


def test_a_refusal_by_the_ca_leaves_the_request_pending_and_approving_twice_is_refused(registry: Registry) -> None:
    request_id = registry.request(new_key()).json()["request_id"]
    registry.registrars.refusal = "Identity 'pid-…' is already registered"
    refused = registry.send(registry.sa, "POST", f"/registrations/{request_id}/approval")
    assert refused.status_code == 502 and "already registered" in refused.json()["detail"]
    assert registry.store.rows[uuid.UUID(request_id)].state is RegistrationState.PENDING
    registry.registrars.refusal = None
    assert registry.send(registry.sa, "POST", f"/registrations/{request_id}/approval").status_code == 200
    twice = registry.send(registry.sa, "POST", f"/registrations/{request_id}/approval")
    assert (twice.status_code, twice.json()["detail"]) == (409, "this registration is already approved")
    assert len(registry.registrars.registered) == 1


def test_a_registration_is_shown_only_to_the_manager_who_asked(registry: Registry, hospital: Organisation) -> None:
    request_id = registry.request(new_key()).json()["request_id"]
    colleague = user_certificate("manager-0002", hospital.ca, {"medledger.role": "manager"})
    assert registry.send(colleague, "GET", f"/registrations/{request_id}").status_code == 404
    assert registry.send(registry.manager, "GET", f"/registrations/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "not a PEM P-256 public key"),
        ({"rid": "x" * 257}, "body.rid: String should have at most 256 characters"),
        ({"rid": "tab\there"}, "a RID is 1 to 256 printable characters"),
        ({"role": "admin"}, "body.role: Input should be 'patient', 'doctor' or 'thirdparty'"),
    ],
)
def test_a_malformed_request_gets_a_422_and_is_not_kept(
    registry: Registry, changes: dict[str, str], detail: str
) -> None:
    answer = registry.request(new_key(), **changes)
    assert answer.status_code == 422 and detail in answer.json()["detail"]
    assert registry.store.rows == {}


def publication(user: Issued, pid: str, keys: SharingKeys) -> dict[str, str]:
    public, verifying = keys.public_key.hex(), keys.verifying_key.hex()
    signature = User(user).sign(sharing_keys_statement(pid, public, verifying))
    return {"public_key": public, "verifying_key": verifying, "signature": base64.b64encode(signature).decode()}


def registered_patient(registry: Registry, hospital: Organisation) -> tuple[str, ec.EllipticCurvePrivateKey, Issued]:
    """A patient the registry registered, with the certificate its CA would issue for the key it registered."""
    key = new_key()
    pid = str(registry.registered("rid-1", key).pid)
    return pid, key, user_certificate(pid, hospital.ca, {"medledger.role": "patient"}, key=key)


def test_a_user_publishes_its_own_signed_sharing_keys_and_others_read_them(
    registry: Registry, hospital: Organisation, third_party: Organisation
) -> None:
    pid, _, user = registered_patient(registry, hospital)
    keys = SharingKeys.generate()
    assert registry.send(user, "PUT", f"/directory/{pid}", publication(user, pid, keys)).status_code == 204
    reader = user_certificate("pid-" + "2" * 60, third_party.ca, {"medledger.role": "thirdparty"})
    entry = DirectoryEntry.model_validate(registry.send(reader, "GET", f"/directory/{pid}").json())
    assert (entry.role, entry.msp_id, entry.sharing_keys.public_key) == (
        Role.PATIENT,
        "OrgPatientMSP",
        keys.public_key.hex(),
    )
    assert entry.certificate.encode() == user.certificate.public_bytes(Encoding.PEM)


def test_nobody_publishes_keys_for_someone_else_or_unsigned(
    registry: Registry, hospital: Organisation, third_party: Organisation
) -> None:
    pid, key, user = registered_patient(registry, hospital)
    keys = SharingKeys.generate()
    other_pid = "pid-" + "3" * 60
    impostor = user_certificate(other_pid, hospital.ca, {"medledger.role": "patient"})
    same_name_elsewhere = user_certificate(pid, third_party.ca, {"medledger.role": "patient"}, key=key)
    same_name_other_key = user_certificate(pid, hospital.ca, {"medledger.role": "patient"})
    forged = {**publication(user, pid, keys), "signature": publication(user, other_pid, keys)["signature"]}
    answers = {
        "another user": registry.send(impostor, "PUT", f"/directory/{pid}", publication(impostor, pid, keys)),
        "an unregistered pseudonym": registry.send(
            impostor, "PUT", f"/directory/{other_pid}", publication(impostor, other_pid, keys)
        ),
        "another CA's certificate with the same name": registry.send(
            same_name_elsewhere, "PUT", f"/directory/{pid}", publication(same_name_elsewhere, pid, keys)
        ),
        "a certificate of the same name for another key": registry.send(
            same_name_other_key, "PUT", f"/directory/{pid}", publication(same_name_other_key, pid, keys)
        ),
        "a signature over another pseudonym": registry.send(user, "PUT", f"/directory/{pid}", forged),
    }
    assert {why: answer.status_code for why, answer in answers.items()} == {
        "another user": 403,
        "an unregistered pseudonym": 403,
        "another CA's certificate with the same name": 403,
        "a certificate of the same name for another key": 403,
        "a signature over another pseudonym": 422,
    }
    assert registry.store.directory == {}


def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_openapi_document(registry: Registry) -> None:
    assert_conforms(registry.client.app, User(registry.manager), AUDIENCE)  # type: ignore[arg-type]
    assert_conforms(registry.client.app, User(registry.sa), AUDIENCE)  # type: ignore[arg-type]
