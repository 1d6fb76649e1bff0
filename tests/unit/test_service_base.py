"""The base every service starts from (medledger_service_base): a route is reached only by a signed request
whose body matches its digest, by the roles and organisations it admits; every refusal is a one-line 4xx."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx2
import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from medledger_api.signed_request import Caller, VerifiedRequest, content_digest, sign_request
from medledger_service_base import trust
from medledger_service_base.app import create_app
from medledger_service_base.auth import caller_with, signed_caller, signed_headers
from medledger_service_base.settings import ServiceSettings, SettingsError, TLSFiles, load_settings

from .certificates import Issued
from .organisations import Nonces, Organisation, User, user_certificate

MAX_BODY = 4096


class Note(BaseModel):
    text: str


router = APIRouter()


@router.post("/notes")
async def add_note(note: Note, caller: Annotated[Caller, Depends(signed_caller)]) -> dict[str, str]:
    return {"by": caller.enrolment_id, "text": note.text}


@router.post("/staff-notes")
async def add_staff_note(
    note: Note, caller: Annotated[Caller, Depends(caller_with(roles=("staff",), msp_ids=("OrgPatientMSP",)))]
) -> dict[str, str]:
    return {"by": caller.enrolment_id}


@router.put("/blobs")
async def put_blob(request: Request, verified: Annotated[VerifiedRequest, Depends(signed_headers)]) -> dict[str, int]:
    digest, size = hashlib.sha384(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    verified.check_body(digest.hexdigest())
    return {"size": size}


@pytest.fixture
def client(tmp_path: Path, hospital: Organisation, third_party: Organisation) -> Iterator[TestClient]:
    settings = ServiceSettings(
        audience="notes",
        host="127.0.0.1",
        port=8443,
        tls=TLSFiles(certificate=tmp_path / "tls.crt", key=tmp_path / "tls.key"),
        organisations={org.msp_id: org.write(tmp_path) for org in (hospital, third_party)},
        max_body_bytes=MAX_BODY,
    )
    with TestClient(create_app(settings, Nonces(), [router], title="notes")) as test_client:
        yield test_client


def send(client: TestClient, user: Issued, method: str, path: str, body: bytes) -> httpx2.Response:
    headers = sign_request(User(user), audience="notes", method=method, path=path, digest=content_digest(body))
    kind = "application/json" if body.startswith(b"{") else "application/octet-stream"
    response: httpx2.Response = client.request(method, path, content=body, headers={**headers, "content-type": kind})
    return response


def note(text: str) -> bytes:
    return json.dumps({"text": text}).encode()


def test_a_signed_request_reaches_the_route_as_its_caller(client: TestClient, hospital: Organisation) -> None:
    response = send(client, user_certificate("pid-1f3a", hospital.ca, {}), "POST", "/notes", note("hello"))
    assert (response.status_code, response.json()) == (200, {"by": "pid-1f3a", "text": "hello"})


def test_an_unsigned_request_is_refused_with_its_reason(client: TestClient) -> None:
    response = client.post("/notes", content=note("hello"))
    assert response.status_code == 401
    assert response.json()["detail"].startswith("unsigned request: no medledger-certificate")


def test_a_body_other_than_the_signed_one_is_refused(client: TestClient, hospital: Organisation) -> None:
    user = user_certificate("pid-1f3a", hospital.ca, {})
    headers = sign_request(User(user), audience="notes", method="POST", path="/notes", digest=content_digest(note("a")))
    response = client.post("/notes", content=note("b"), headers={**headers, "content-type": "application/json"})
    assert (response.status_code, response.json()["detail"]) == (
        401,
        "the body does not match the digest the request signed",
    )


def test_a_replayed_request_is_refused(client: TestClient, hospital: Organisation) -> None:
    user = user_certificate("pid-1f3a", hospital.ca, {})
    headers = sign_request(User(user), audience="notes", method="POST", path="/notes", digest=content_digest(note("a")))
    headers["content-type"] = "application/json"
    assert client.post("/notes", content=note("a"), headers=headers).status_code == 200
    again = client.post("/notes", content=note("a"), headers=headers)
    assert (again.status_code, again.json()["detail"]) == (401, "replayed request: this nonce was already used")


def test_a_route_admits_only_its_roles_from_its_organisations(
    client: TestClient, hospital: Organisation, third_party: Organisation
) -> None:
    staff = user_certificate("staff-0001", hospital.ca, {"medledger.role": "staff"})
    patient = user_certificate("pid-1f3a", hospital.ca, {"medledger.role": "patient"})
    outsider = user_certificate("staff-cqu", third_party.ca, {"medledger.role": "staff"})
    assert send(client, staff, "POST", "/staff-notes", note("x")).status_code == 200
    refused = send(client, patient, "POST", "/staff-notes", note("x"))
    assert (refused.status_code, refused.json()["detail"]) == (403, "patient may not do this; it needs staff")
    other = send(client, outsider, "POST", "/staff-notes", note("x"))
    assert (other.status_code, other.json()["detail"]) == (403, "members of OrgThirdPartyMSP may not do this")


def test_a_malformed_body_gets_a_one_line_422(client: TestClient, hospital: Organisation) -> None:
    response = send(client, user_certificate("pid-1f3a", hospital.ca, {}), "POST", "/notes", b'{"txt": 1}')
    assert (response.status_code, response.json()) == (422, {"detail": "body.text: Field required"})


def test_an_oversized_body_is_refused_before_the_route_reads_it(client: TestClient, hospital: Organisation) -> None:
    user = user_certificate("pid-1f3a", hospital.ca, {})
    declared = send(client, user, "PUT", "/blobs", b"x" * (MAX_BODY + 1))
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield from (b"y" * 1024 for _ in range(5))

    body = b"y" * 5120
    headers = sign_request(User(user), audience="notes", method="PUT", path="/blobs", digest=content_digest(body))
    streamed = client.put("/blobs", content=chunks(), headers=headers)
    assert (streamed.status_code, streamed.json()) == (
        413,
        {"detail": f"the request body is larger than {MAX_BODY} bytes"},
    )


def test_a_streamed_body_is_checked_against_its_signed_digest(client: TestClient, hospital: Organisation) -> None:
    user = user_certificate("pid-1f3a", hospital.ca, {})
    assert send(client, user, "PUT", "/blobs", b"z" * 3000).json() == {"size": 3000}
    headers = sign_request(User(user), audience="notes", method="PUT", path="/blobs", digest=content_digest(b"a"))
    assert client.put("/blobs", content=b"b", headers=headers).status_code == 401


def test_settings_with_a_mistake_name_it_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"audience": "Notes!", "host": "h", "port": 1, "tls": {}, "organisations": {}}))
    with pytest.raises(SettingsError, match=r"settings.json: audience: String should match pattern"):
        load_settings(ServiceSettings, path)
    path.write_text("{")
    with pytest.raises(SettingsError, match="is not JSON"):
        load_settings(ServiceSettings, path)
    with pytest.raises(SettingsError, match="cannot read the settings"):
        load_settings(ServiceSettings, tmp_path / "absent.json")


def test_a_crl_published_while_the_service_runs_refuses_the_revoked_certificate_on_the_next_request(
    client: TestClient, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trust, "CHECK_SECONDS", 0.0)
    user = user_certificate("pid-1f3a", hospital.ca, {})
    assert send(client, user, "POST", "/notes", note("before")).status_code == 200
    revoked = hospital.write(tmp_path / "revocation", revoked=(user.certificate,))
    shutil.copyfile(revoked / "crls" / "crl.pem", tmp_path / hospital.msp_id / "crls" / "crl.pem")
    refused = send(client, user, "POST", "/notes", note("after"))
    assert (refused.status_code, refused.json()["detail"]) == (401, "the request's certificate is revoked")
