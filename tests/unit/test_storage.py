"""The storage service's routes (medledger_storage): a record is kept only under the SHA-384 of what arrived, read
only by its owner and the receivers the sharing proxy granted, every read audited first. The S3 store and the
database are stand-ins here; tests/infra/test_services.py runs the deployed service with SeaweedFS."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from medledger_api.signed_request import content_digest, sign_request
from medledger_api.storage import Read
from medledger_client.storage import AUDIENCE
from medledger_service_base.database import DatabaseSettings
from medledger_service_base.settings import TLSFiles
from medledger_storage.app import build
from medledger_storage.settings import S3Settings, StorageSettings
from medledger_storage.store import ObjectRow, ObjectTaken, Party

from ..openapi_conformance import assert_conforms
from .certificates import Issued
from .organisations import NOW_MS, Nonces, Organisation, User, send_signed, user_certificate

MAX_OBJECT = 64 * 1024
GOVERNMENT = "OrgGovernmentMSP"


class MemoryObjects:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, path: Path) -> None:
        self.objects[key] = path.read_bytes()

    def chunks(self, key: str) -> Iterator[bytes]:
        data = self.objects[key]
        yield from (data[offset : offset + 1000] for offset in range(0, len(data), 1000))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, ObjectRow] = {}
        self.grants: set[tuple[str, Party]] = set()
        self.reads: list[tuple[str, Party]] = []

    def find(self, sha384: str) -> ObjectRow | None:
        return self.rows.get(sha384)

    def add(self, row: ObjectRow) -> None:
        if row.sha384 in self.rows:
            raise ObjectTaken
        self.rows[row.sha384] = row

    def may_read(self, sha384: str, reader: Party) -> bool:
        return self.rows[sha384].owner == reader or (sha384, reader) in self.grants

    def record_read(self, sha384: str, reader: Party) -> None:
        self.reads.append((sha384, reader))

    def grant(self, sha384: str, receiver: Party, granted_by: str) -> None:
        self.grants.add((sha384, receiver))

    def reads_of(self, owner: Party) -> list[Read]:
        return [
            Read(
                sha384=sha,
                reader=reader.pid,
                reader_msp_id=reader.msp_id,
                read_at=datetime.datetime.fromtimestamp(NOW_MS / 1000, datetime.UTC),
            )
            for sha, reader in self.reads
            if self.rows[sha].owner == owner
        ]


@dataclasses.dataclass
class Storage:
    client: TestClient
    store: MemoryStore
    objects: MemoryObjects
    patient: Issued
    researcher: Issued
    proxy: Issued
    hospital_proxy: Issued

    def upload(self, user: Issued, data: bytes, address: str | None = None) -> httpx2.Response:
        digest = content_digest(data)
        path = f"/objects/{address or digest}"
        headers = sign_request(User(user), audience=AUDIENCE, method="PUT", path=path, digest=digest)
        response: httpx2.Response = self.client.put(
            path, content=data, headers={**headers, "content-type": "application/octet-stream"}
        )
        return response

    def download(self, user: Issued, sha384: str) -> httpx2.Response:
        return send_signed(self.client, user, "GET", f"/objects/{sha384}", audience=AUDIENCE)

    def grant(self, user: Issued, sha384: str, receiver: Issued, msp_id: str) -> httpx2.Response:
        body = {"receiver": pid_of(receiver), "receiver_msp_id": msp_id}
        return send_signed(self.client, user, "POST", f"/objects/{sha384}/grants", body, audience=AUDIENCE)


def pid_of(user: Issued) -> str:
    return user.certificate.subject.rfc4514_string().removeprefix("CN=")


@pytest.fixture
def storage(tmp_path: Path, hospital: Organisation, third_party: Organisation) -> Iterator[Storage]:
    government = Organisation.made(GOVERNMENT)
    settings = StorageSettings(
        audience=AUDIENCE,
        host="127.0.0.1",
        port=8445,
        tls=TLSFiles(certificate=tmp_path / "tls.crt", key=tmp_path / "tls.key"),
        organisations={org.msp_id: org.write(tmp_path) for org in (hospital, third_party, government)},
        max_body_bytes=MAX_OBJECT,
        database=DatabaseSettings(name="storage", user="storage", password_file=tmp_path, server_ca=tmp_path),
        s3=S3Settings(
            endpoint="https://127.0.0.1:8333",
            bucket="records",
            access_key="k",
            secret_key_file=tmp_path,
            ca_file=tmp_path,
        ),
        public_url="https://storage.lab:8445",
        max_object_bytes=MAX_OBJECT,
        spool_dir=tmp_path / "spool",
        proxy_msp_id=GOVERNMENT,
    )
    store, objects = MemoryStore(), MemoryObjects()
    with TestClient(build(settings, store, objects, Nonces())) as client:
        yield Storage(
            client,
            store,
            objects,
            patient=user_certificate("pid-" + "1" * 60, hospital.ca, {"medledger.role": "patient"}),
            researcher=user_certificate("pid-" + "2" * 60, third_party.ca, {"medledger.role": "thirdparty"}),
            proxy=user_certificate("svc-proxy", government.ca, {"medledger.proxy": "true"}),
            hospital_proxy=user_certificate("svc-x", hospital.ca, {"medledger.proxy": "true"}),
        )


def test_a_patient_stores_a_record_under_its_digest_and_reads_it_back_audited(storage: Storage) -> None:
    data = bytes(range(256)) * 100
    stored = storage.upload(storage.patient, data)
    assert stored.status_code == 201, stored.text
    digest = hashlib.sha384(data).hexdigest()
    assert stored.json()["url"] == f"https://storage.lab:8445/objects/{digest}"
    read = storage.download(storage.patient, digest)
    assert (read.status_code, read.content) == (200, data)
    trail = send_signed(storage.client, storage.patient, "GET", "/reads", audience=AUDIENCE).json()
    assert [(entry["sha384"], entry["reader"]) for entry in trail] == [(digest, pid_of(storage.patient))]


def test_content_other_than_its_address_or_its_signature_is_not_kept(storage: Storage) -> None:
    data = b"ciphertext" * 100
    elsewhere = storage.upload(storage.patient, data, address=hashlib.sha384(b"other").hexdigest())
    assert elsewhere.status_code == 422
    digest = content_digest(data)
    path = f"/objects/{digest}"
    headers = sign_request(User(storage.patient), audience=AUDIENCE, method="PUT", path=path, digest=digest)
    swapped = storage.client.put(path, content=b"x" * len(data), headers=headers)
    assert (swapped.status_code, swapped.json()["detail"]) == (
        401,
        "the body does not match the digest the request signed",
    )
    assert (storage.objects.objects, storage.store.rows) == ({}, {})


def test_an_oversized_record_or_a_non_patient_is_refused_and_nothing_kept(storage: Storage) -> None:
    assert storage.upload(storage.patient, b"x" * (MAX_OBJECT + 1)).status_code == 413
    assert storage.upload(storage.researcher, b"data").status_code == 403
    assert (storage.objects.objects, storage.store.rows) == ({}, {})


def test_a_patient_role_without_a_pseudonym_is_refused_and_nothing_kept(
    storage: Storage, hospital: Organisation
) -> None:
    """An identity its hospital's CA enrolled under a name of its own, never registered by the registry."""
    unregistered = user_certificate("alice", hospital.ca, {"medledger.role": "patient"})
    response = storage.upload(unregistered, b"sealed record")
    assert (response.status_code, response.json()["detail"]) == (
        403, "only a registered patient (a pseudonym) stores records",
    )  # fmt: skip
    assert (storage.objects.objects, storage.store.rows) == ({}, {})


def test_another_party_cannot_claim_stored_content(storage: Storage, hospital: Organisation) -> None:
    data = b"sealed record"
    storage.upload(storage.patient, data)
    other = user_certificate("pid-" + "3" * 60, hospital.ca, {"medledger.role": "patient"})
    assert storage.upload(other, data).status_code == 409
    assert storage.store.rows[content_digest(data)].owner.pid == pid_of(storage.patient)


def test_a_third_party_reads_only_what_the_governments_proxy_granted_it(storage: Storage) -> None:
    data = b"shared record" * 50
    digest = storage.upload(storage.patient, data).json()["sha384"]
    refused = storage.download(storage.researcher, digest)
    assert (refused.status_code, refused.json()["detail"]) == (403, "this object is neither yours nor shared with you")
    assert storage.grant(storage.hospital_proxy, digest, storage.researcher, "OrgThirdPartyMSP").status_code == 403
    assert storage.grant(storage.researcher, digest, storage.researcher, "OrgThirdPartyMSP").status_code == 403
    assert storage.store.reads == [] and storage.store.grants == set()
    # A grant names the receiver's organisation too: the same pseudonym at another CA is someone else.
    assert storage.grant(storage.proxy, digest, storage.researcher, "OrgPatientMSP").status_code == 204
    assert storage.download(storage.researcher, digest).status_code == 403
    assert storage.grant(storage.proxy, digest, storage.researcher, "OrgThirdPartyMSP").status_code == 204
    granted = storage.download(storage.researcher, digest)
    assert (granted.status_code, granted.content) == (200, data)
    assert [reader.pid for _, reader in storage.store.reads] == [pid_of(storage.researcher)]


def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_openapi_document(storage: Storage) -> None:
    storage.upload(storage.patient, b"a stored record")
    for caller in (storage.patient, storage.researcher, storage.proxy):
        assert_conforms(storage.client.app, User(caller), AUDIENCE)  # type: ignore[arg-type]
