"""The sharing proxy's routes (medledger_sharing_proxy): a share is delivered only after its usage record committed,
only to its receiver, never once revoked; the proxy checks the key fragment before it keeps anything and holds
nothing that opens the data. The directory, the ledger, storage and the database are stand-ins here;
tests/infra/test_services.py runs the whole flow on the lab."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient
from pydantic import BaseModel

from medledger_api.common import Role
from medledger_api.entities import DataUsageEntity, PatientDataEntity, data_digest
from medledger_api.registry import DirectoryEntry, SharingKeysPublication
from medledger_client import sharing
from medledger_client.service_client import ServiceClient, ServiceError
from medledger_client.sharing_keys import SharingError, SharingKeys, WrappedKey, grant, unwrap_shared, wrap_data_key
from medledger_service_base.database import DatabaseSettings
from medledger_service_base.settings import RegistryEndpoint, TLSFiles
from medledger_sharing_proxy.app import build
from medledger_sharing_proxy.ledger import LedgerError
from medledger_sharing_proxy.settings import PeerSettings, SharingProxySettings, StorageEndpoint
from medledger_sharing_proxy.store import NotFound, StoredShare

from ..openapi_conformance import assert_conforms
from .certificates import Issued
from .organisations import Nonces, Organisation, User, send_signed, user_certificate

AUDIENCE = sharing.AUDIENCE
DATA_KEY = bytes(range(32))


class MemoryShares:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, StoredShare] = {}

    def add(self, share: StoredShare) -> None:
        self.rows[share.share_id] = share

    def of_party(self, pid: str, msp_id: str) -> list[StoredShare]:
        return [
            row
            for row in self.rows.values()
            if (pid, msp_id) in {(row.patient, row.patient_msp_id), (row.receiver, row.receiver_msp_id)}
        ]

    def change(self, share_id: uuid.UUID, step: Callable[[StoredShare], StoredShare]) -> StoredShare:
        if share_id not in self.rows:
            raise NotFound
        self.rows[share_id] = step(self.rows[share_id])
        return self.rows[share_id]


class FakeLedger:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], PatientDataEntity] = {}
        self.usage: list[DataUsageEntity] = []
        self.down = False

    def index_record(self, pid: str, treatment: str) -> PatientDataEntity | None:
        return self.records.get((pid, treatment))

    def record_usage(self, usage: DataUsageEntity) -> str:
        if self.down:
            raise LedgerError("the usage record did not commit: UNAVAILABLE")
        self.usage.append(usage)
        return f"tx{len(self.usage)}"


class FakeGrants:
    def __init__(self) -> None:
        self.granted: list[tuple[str, str, str]] = []

    def grant(self, sha384: str, receiver: str, receiver_msp_id: str) -> None:
        self.granted.append((sha384, receiver, receiver_msp_id))


class Directory:
    def __init__(self) -> None:
        self.entries: dict[str, DirectoryEntry] = {}

    def look_up(self, pid: str) -> DirectoryEntry:
        if pid not in self.entries:
            raise ServiceError(404, "no published keys for this pseudonym")
        return self.entries[pid]


@dataclasses.dataclass
class Person:
    issued: Issued
    keys: SharingKeys
    entry: DirectoryEntry

    @property
    def pid(self) -> str:
        return self.entry.pid


@dataclasses.dataclass
class Proxy:
    client: TestClient
    shares: MemoryShares
    ledger: FakeLedger
    grants: FakeGrants
    patient: Person
    receiver: Person
    other: Person

    def send(self, user: Person, method: str, path: str, body: object = None) -> httpx2.Response:
        return send_signed(self.client, user.issued, method, path, body, audience=AUDIENCE)

    def share(
        self, receiver: Person | None = None, treatment: str = "t-1", kfrag_for: Person | None = None
    ) -> httpx2.Response:
        wrapped = wrap_data_key(self.patient.keys.public_key, DATA_KEY)
        (kfrag,) = grant(self.patient.keys, (kfrag_for or receiver or self.receiver).keys.public_key)
        body = {
            "treatment": treatment,
            "receiver": (receiver or self.receiver).pid,
            "capsule": base64.b64encode(wrapped.capsule).decode(),
            "wrapped_key": base64.b64encode(wrapped.ciphertext).decode(),
            "kfrag": base64.b64encode(kfrag).decode(),
        }
        return self.send(self.patient, "POST", "/shares", body)


def person(pid: str, organisation: Organisation, role: Role, directory: Directory) -> Person:
    issued = user_certificate(pid, organisation.ca, {"medledger.role": role.value})
    keys = SharingKeys.generate()
    published = SharingKeysPublication(
        public_key=keys.public_key.hex(), verifying_key=keys.verifying_key.hex(), signature=""
    )
    entry = DirectoryEntry(
        pid=pid,
        msp_id=organisation.msp_id,
        role=role,
        certificate=issued.certificate.public_bytes(Encoding.PEM).decode(),
        sharing_keys=published,
    )
    directory.entries[pid] = entry
    return Person(issued, keys, entry)


def proxy_settings(tmp_path: Path, *organisations: Organisation) -> SharingProxySettings:
    return SharingProxySettings(
        audience=AUDIENCE,
        host="127.0.0.1",
        port=8446,
        tls=TLSFiles(certificate=tmp_path / "tls.crt", key=tmp_path / "tls.key"),
        organisations={org.msp_id: org.write(tmp_path) for org in organisations},
        database=DatabaseSettings(
            name="sharing_proxy", user="sharing_proxy", password_file=tmp_path, server_ca=tmp_path
        ),
        msp_id="OrgGovernmentMSP",
        identity=tmp_path,
        peer=PeerSettings(
            address="peer:7051",
            tls_ca=tmp_path,
            tls_certificate=tmp_path,
            tls_key=tmp_path,
            patient_channel="patientchannel",
            patient_chaincode="patient_data",
            usage_channel="datausagechannel",
            usage_chaincode="data_usage",
        ),
        registry=RegistryEndpoint(address="registry:8443", tls_ca_files=(tmp_path,)),
        storage=StorageEndpoint(address="storage:8445", tls_ca_files=(tmp_path,)),
    )


@dataclasses.dataclass
class World:
    """What every proxy of a test shares: the registry's directory, the ledger, its people."""

    directory: Directory
    ledger: FakeLedger
    patient: Person
    receiver: Person
    other: Person


@pytest.fixture
def world(hospital: Organisation, third_party: Organisation) -> World:
    directory, ledger = Directory(), FakeLedger()
    patient = person("pid-" + "1" * 60, hospital, Role.PATIENT, directory)
    receiver = person("pid-" + "2" * 60, third_party, Role.THIRD_PARTY, directory)
    other = person("pid-" + "3" * 60, third_party, Role.THIRD_PARTY, directory)
    ledger.records[(patient.pid, "t-1")] = PatientDataEntity.signed_by(
        _Signer(patient),
        treatment="t-1",
        digest=data_digest(b"ciphertext"),
        url="https://storage/x",
        doctor="pid-" + "4" * 60,
        doctor_signature="00" * 32,
    )
    return World(directory, ledger, patient, receiver, other)


@contextmanager
def running_proxy(settings: SharingProxySettings, world: World) -> Iterator[Proxy]:
    """A proxy of its own store and storage grants, on the world's directory and ledger."""
    shares, grants = MemoryShares(), FakeGrants()
    app = build(settings, store=shares, directory=world.directory, ledger=world.ledger, grants=grants, nonces=Nonces())
    with TestClient(app) as client:
        yield Proxy(client, shares, world.ledger, grants, world.patient, world.receiver, world.other)


@pytest.fixture
def proxy(tmp_path: Path, hospital: Organisation, third_party: Organisation, world: World) -> Iterator[Proxy]:
    with running_proxy(proxy_settings(tmp_path, hospital, third_party), world) as running:
        yield running


@dataclasses.dataclass
class _Signer:
    person: Person

    @property
    def enrolment_id(self) -> str:
        return self.person.pid

    def sign(self, message: bytes) -> bytes:
        return User(self.person.issued).sign(message)


def delivered(proxy: Proxy, share_id: str, who: Person) -> httpx2.Response:
    return proxy.send(who, "POST", f"/shares/{share_id}/delivery")


def test_a_share_is_recorded_on_the_usage_channel_before_the_receiver_gets_what_opens_the_data_key(
    proxy: Proxy,
) -> None:
    made = proxy.share()
    assert (made.status_code, made.json()["state"]) == (201, "pending"), made.text
    assert proxy.ledger.usage == [] and proxy.grants.granted == []
    answer = delivered(proxy, made.json()["share_id"], proxy.receiver)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (usage,) = proxy.ledger.usage
    digest = data_digest(b"ciphertext")
    assert (usage.sender_pseudonym_id, usage.receiver_pseudonym_id, usage.data_message_digest) == (
        proxy.patient.pid,
        proxy.receiver.pid,
        digest,
    )
    assert proxy.grants.granted == [(digest, proxy.receiver.pid, "OrgThirdPartyMSP")]
    assert (body["usage_transaction_id"], body["record"]["dataMessageDigest"]) == ("tx1", digest)
    wrapped = WrappedKey(base64.b64decode(body["capsule"]), base64.b64decode(body["wrapped_key"]))
    opened = unwrap_shared(
        proxy.receiver.keys.secret_key,
        proxy.patient.keys.public_key,
        proxy.patient.keys.verifying_key,
        wrapped,
        [base64.b64decode(body["cfrag"])],
    )
    assert opened == DATA_KEY
    sharing.check_record_signature(PatientDataEntity.from_wire(body["record"]), proxy.patient.issued.certificate)
    # Collecting again returns the same delivery and records nothing more.
    assert delivered(proxy, made.json()["share_id"], proxy.receiver).json()["cfrag"] == body["cfrag"]
    assert len(proxy.ledger.usage) == 1


def test_a_revoked_share_is_never_recorded_nor_delivered(proxy: Proxy) -> None:
    share_id = proxy.share().json()["share_id"]
    assert proxy.send(proxy.patient, "DELETE", f"/shares/{share_id}").status_code == 204
    refused = delivered(proxy, share_id, proxy.receiver)
    assert (refused.status_code, refused.json()["detail"]) == (410, "the patient revoked this share")
    assert proxy.ledger.usage == [] and proxy.grants.granted == []


def test_a_share_whose_usage_record_did_not_commit_is_not_delivered_and_can_still_be_revoked(proxy: Proxy) -> None:
    share_id = proxy.share().json()["share_id"]
    proxy.ledger.down = True
    failed = delivered(proxy, share_id, proxy.receiver)
    assert failed.status_code == 502 and "did not commit" in failed.json()["detail"]
    stored = proxy.shares.rows[uuid.UUID(share_id)]
    assert (stored.state.value, stored.cfrag, proxy.grants.granted) == ("pending", None, [])
    assert proxy.send(proxy.patient, "DELETE", f"/shares/{share_id}").status_code == 204


def test_only_the_receiver_collects_and_a_delivered_share_cannot_be_revoked(proxy: Proxy) -> None:
    share_id = proxy.share().json()["share_id"]
    for who in (proxy.other, proxy.patient):
        assert delivered(proxy, share_id, who).status_code == 404
    assert proxy.ledger.usage == []
    assert delivered(proxy, share_id, proxy.receiver).status_code == 200
    late = proxy.send(proxy.patient, "DELETE", f"/shares/{share_id}")
    assert (late.status_code, late.json()["detail"]) == (409, "the share is already delivered")


def test_a_share_of_an_unindexed_record_or_with_a_key_fragment_for_someone_else_is_refused(proxy: Proxy) -> None:
    unindexed = proxy.share(treatment="t-2")
    assert (unindexed.status_code, unindexed.json()["detail"]) == (
        422,
        "treatment: no index record of yours on the Patient Channel",
    )
    misdirected = proxy.share(kfrag_for=proxy.other)
    assert misdirected.status_code == 422 and misdirected.json()["detail"].startswith("kfrag:")
    unknown = proxy.send(
        proxy.patient,
        "POST",
        "/shares",
        {"treatment": "t-1", "receiver": "pid-" + "9" * 60, "capsule": "", "wrapped_key": "", "kfrag": ""},
    )
    assert unknown.status_code == 422
    assert proxy.shares.rows == {}


def test_only_a_registered_patient_shares(proxy: Proxy) -> None:
    answer = proxy.send(
        proxy.receiver,
        "POST",
        "/shares",
        {"treatment": "t-1", "receiver": proxy.other.pid, "capsule": "", "wrapped_key": "", "kfrag": ""},
    )
    assert answer.status_code == 403
    assert proxy.shares.rows == {}


def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_openapi_document(proxy: Proxy) -> None:
    proxy.share()
    for caller in (proxy.patient, proxy.receiver):
        assert_conforms(proxy.client.app, User(caller.issued), AUDIENCE)  # type: ignore[arg-type]


def test_a_treatment_id_the_ledger_would_refuse_is_a_422_before_the_ledger_is_asked(proxy: Proxy) -> None:
    """The chaincode refuses such a TID with an error, which would otherwise come back as a 502."""
    for treatment in ("t\x00-1", "../t-1", "t" * 65):
        answer = proxy.share(treatment=treatment)
        assert answer.status_code == 422 and answer.json()["detail"].startswith("body.treatment"), treatment
    assert proxy.shares.rows == {}


@dataclasses.dataclass
class ProxyAsClient:
    """The data client's view of one in-process proxy: ServiceClient's call, as `caller`, or a proxy that is down."""

    proxy: Proxy
    caller: Person
    address: str
    down: bool = False

    def call(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        if self.down:
            raise ServiceError(0, f"{AUDIENCE} at {self.address}: [Errno 111] Connection refused")
        content = None if body is None else json.loads(body.model_dump_json())
        answer = self.proxy.send(self.caller, method, path, content)
        if answer.status_code >= 300:
            raise ServiceError(answer.status_code, answer.json()["detail"])
        return answer.json() if answer.content else None


@pytest.fixture
def three_proxies(
    tmp_path: Path, hospital: Organisation, third_party: Organisation, world: World
) -> Iterator[list[Proxy]]:
    settings = proxy_settings(tmp_path, hospital, third_party)
    with running_proxy(settings, world) as a, running_proxy(settings, world) as b, running_proxy(settings, world) as c:
        yield [a, b, c]


def as_clients(proxies: list[Proxy], caller: Person) -> list[ServiceClient]:
    clients = [ProxyAsClient(proxy, caller, f"proxy-{n}:8446") for n, proxy in enumerate(proxies)]
    return cast(list[ServiceClient], clients)


def shared_two_of_three(proxies: list[Proxy]) -> uuid.UUID:
    """The patient's record shared through the three proxies, any two of which open it: the grant's ID."""
    world = proxies[0]
    wrapped = wrap_data_key(world.patient.keys.public_key, DATA_KEY)
    made = sharing.share_among(
        as_clients(proxies, world.patient), world.patient.keys, world.receiver.entry, "t-1", wrapped, threshold=2
    )
    (grant,) = {share.grant for share in made}
    assert grant is not None and len(made) == 3
    return grant


def test_a_two_of_three_share_opens_with_two_proxies_while_the_third_is_down(three_proxies: list[Proxy]) -> None:
    world = three_proxies[0]
    grant = shared_two_of_three(three_proxies)
    receiving = as_clients(three_proxies, world.receiver)
    cast(ProxyAsClient, receiving[1]).down = True
    received = sharing.receive_grant(receiving, grant, world.receiver.keys, world.patient.entry)
    assert received.data_key == DATA_KEY
    # Each proxy that released its fragment recorded the share first; the one that was down released nothing.
    assert len(world.ledger.usage) == 2
    assert [bool(proxy.grants.granted) for proxy in three_proxies] == [True, False, True]


def test_one_fragment_of_a_two_of_three_share_opens_nothing(three_proxies: list[Proxy]) -> None:
    world = three_proxies[0]
    grant = shared_two_of_three(three_proxies)
    receiving = as_clients(three_proxies, world.receiver)
    for down in receiving[1:]:
        cast(ProxyAsClient, down).down = True
    with pytest.raises(SharingError, match="1 capsule fragment"):
        sharing.receive_grant(receiving, grant, world.receiver.keys, world.patient.entry)


def test_a_threshold_share_one_proxy_refuses_is_withdrawn_from_the_others(three_proxies: list[Proxy]) -> None:
    world = three_proxies[0]
    wrapped = wrap_data_key(world.patient.keys.public_key, DATA_KEY)
    sharing_clients = as_clients(three_proxies, world.patient)
    cast(ProxyAsClient, sharing_clients[2]).down = True
    with pytest.raises(ServiceError):
        sharing.share_among(sharing_clients, world.patient.keys, world.receiver.entry, "t-1", wrapped, threshold=2)
    states = [share.state.value for proxy in three_proxies[:2] for share in proxy.shares.rows.values()]
    assert states == ["revoked", "revoked"]


def test_a_revoked_grant_is_withdrawn_at_every_proxy_and_opens_nothing(three_proxies: list[Proxy]) -> None:
    world = three_proxies[0]
    grant = shared_two_of_three(three_proxies)
    revoked = sharing.revoke_grant(as_clients(three_proxies, world.patient), grant)
    assert len(revoked) == 3
    with pytest.raises(SharingError, match=r"0 capsule fragment.*410 the patient revoked this share"):
        sharing.receive_grant(
            as_clients(three_proxies, world.receiver), grant, world.receiver.keys, world.patient.entry
        )
    assert world.ledger.usage == []
