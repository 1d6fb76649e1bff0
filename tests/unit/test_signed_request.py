"""Signed requests (medledger_api.signed_request): what a service accepts, and every way an insider or a
stranger could try to get a request past it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from medledger_api.signed_request import (
    CONTENT_HEADER,
    HEADERS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RequestError,
    TrustStore,
    VerifiedRequest,
    content_digest,
    sign_request,
    verify_request,
)

from .certificates import Issued, issue
from .organisations import NOW_MS, Nonces, Organisation, User, user_certificate

REQUEST = {"audience": "storage", "method": "PUT", "path": "/records/ab%20c", "query": "size=3&x=1"}
BODY = b"ciphertext"


@pytest.fixture
def trust(tmp_path: Path, hospital: Organisation, third_party: Organisation) -> TrustStore:
    return TrustStore.from_msp_folders(
        {org.msp_id: org.write(tmp_path) for org in (hospital, third_party)},
    )


def signed(user: Issued, body: bytes = BODY, **changes: str) -> dict[str, str]:
    return sign_request(User(user), digest=content_digest(body), timestamp_ms=NOW_MS, **{**REQUEST, **changes})


def verify(
    headers: dict[str, str],
    trust: TrustStore,
    *,
    nonces: Nonces | None = None,
    now_ms: int = NOW_MS,
    changed: dict[str, str] | None = None,
) -> VerifiedRequest:
    request = {**REQUEST, **(changed or {})}
    return verify_request(
        headers,
        audience=request["audience"],
        method=request["method"],
        path=request["path"],
        query=request["query"],
        trust=trust,
        nonces=nonces or Nonces(),
        now_ms=now_ms,
    )


def test_a_patients_signed_request_names_the_patient_and_the_organisation_whose_ca_issued_it(
    hospital: Organisation, trust: TrustStore
) -> None:
    patient = user_certificate("pid-1f3a", hospital.ca, {"medledger.role": "patient"})
    verified = verify(signed(patient), trust)
    assert (verified.caller.enrolment_id, verified.caller.msp_id, verified.caller.role) == (
        "pid-1f3a",
        "OrgPatientMSP",
        "patient",
    )
    verified.check_body(content_digest(BODY))
    with pytest.raises(RequestError, match="does not match the digest"):
        verified.check_body(content_digest(BODY + b"appended"))


def test_an_insiders_own_ca_that_copies_a_hospital_cas_name_is_not_the_hospital(
    hospital: Organisation, third_party: Organisation, trust: TrustStore
) -> None:
    """A third party's administrator makes a CA with the hospital CA's subject and issues itself a staff
    certificate: its issuer's name matches, its signature does not."""
    forged_ca = issue(f"ca-{hospital.msp_id.lower()}", third_party.root, ca=True)
    assert forged_ca.certificate.subject == hospital.ca.certificate.subject
    impostor = user_certificate("staff-0001", forged_ca, {"medledger.role": "staff"})
    with pytest.raises(RequestError, match="not issued by any trusted organisation's CA"):
        verify(signed(impostor), trust)


def test_a_third_partys_user_is_its_own_organisations_member_whatever_it_claims(
    third_party: Organisation, trust: TrustStore
) -> None:
    researcher = user_certificate("pid-77aa", third_party.ca, {"medledger.role": "staff"})
    verified = verify(signed(researcher), trust)
    assert verified.caller.msp_id == "OrgThirdPartyMSP"


def test_a_revoked_certificate_is_refused_and_a_crl_the_ca_did_not_sign_is_not_believed(
    tmp_path: Path, hospital: Organisation, third_party: Organisation
) -> None:
    patient = user_certificate("pid-1f3a", hospital.ca, {})
    revoked = TrustStore.from_msp_folders({hospital.msp_id: hospital.write(tmp_path / "a", (patient.certificate,))})
    with pytest.raises(RequestError, match="revoked"):
        verify(signed(patient), revoked)
    forged_crl = TrustStore.from_msp_folders({hospital.msp_id: hospital.write(tmp_path / "b", (), third_party.ca)})
    with pytest.raises(RequestError, match=r"CRL .* does not verify"):
        verify(signed(patient), forged_crl)


def test_expired_and_ca_certificates_are_refused(hospital: Organisation, trust: TrustStore) -> None:
    expired = user_certificate("pid-old", hospital.ca, {}, valid_hours=-1)
    with pytest.raises(RequestError, match="not valid now"):
        verify(signed(expired), trust)
    with pytest.raises(RequestError, match="a CA's"):
        verify(signed(hospital.ca), trust)


@pytest.mark.parametrize(
    "change",
    [
        {"audience": "registry"},
        {"method": "DELETE"},
        {"path": "/records/other"},
        {"query": "size=4&x=1"},
    ],
)
def test_a_signature_does_not_carry_over_to_another_service_method_path_or_query(
    change: dict[str, str], hospital: Organisation, trust: TrustStore
) -> None:
    headers = signed(user_certificate("pid-1f3a", hospital.ca, {}))
    with pytest.raises(RequestError, match="signature does not verify"):
        verify(headers, trust, changed=change)


@pytest.mark.parametrize("header", [TIMESTAMP_HEADER, NONCE_HEADER, CONTENT_HEADER])
def test_every_signed_header_is_covered_by_the_signature(
    header: str, hospital: Organisation, trust: TrustStore
) -> None:
    headers = signed(user_certificate("pid-1f3a", hospital.ca, {}))
    replacement = {TIMESTAMP_HEADER: str(NOW_MS + 1), NONCE_HEADER: "0" * 32, CONTENT_HEADER: content_digest(b"x")}
    with pytest.raises(RequestError, match="signature does not verify"):
        verify({**headers, header: replacement[header]}, trust)


def test_another_users_signature_under_a_patients_certificate_is_refused(
    hospital: Organisation, trust: TrustStore
) -> None:
    patient = user_certificate("pid-1f3a", hospital.ca, {})
    doctor = user_certificate("pid-d0c", hospital.ca, {})
    stolen = {**signed(doctor), "medledger-certificate": signed(patient)["medledger-certificate"]}
    with pytest.raises(RequestError, match="signature does not verify"):
        verify(stolen, trust)


def test_a_replayed_request_is_refused_and_a_stale_one_too(hospital: Organisation, trust: TrustStore) -> None:
    headers = signed(user_certificate("pid-1f3a", hospital.ca, {}))
    nonces = Nonces()
    verify(headers, trust, nonces=nonces)
    with pytest.raises(RequestError, match="replayed"):
        verify(headers, trust, nonces=nonces)
    with pytest.raises(RequestError, match="from the service's clock"):
        verify(headers, trust, now_ms=NOW_MS + 301_000)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("medledger-certificate", "not base64!", "not a base64 DER"),
        ("medledger-certificate", base64.b64encode(b"not DER").decode(), "not a base64 DER"),
        ("medledger-certificate", "A" * 9000, "too long"),
        (TIMESTAMP_HEADER, "-5", "milliseconds since the epoch"),
        (NONCE_HEADER, "short", "32 lowercase hex"),
        (CONTENT_HEADER, "ABC", "SHA-384"),
        (SIGNATURE_HEADER, "%%%", "signature does not verify"),
    ],
)
def test_malformed_headers_are_refused_with_their_reason(
    header: str, value: str, reason: str, hospital: Organisation, trust: TrustStore
) -> None:
    headers = signed(user_certificate("pid-1f3a", hospital.ca, {}))
    with pytest.raises(RequestError, match=reason):
        verify({**headers, header: value}, trust)


@pytest.mark.parametrize("header", HEADERS)
def test_a_request_without_any_one_header_is_unsigned(header: str, hospital: Organisation, trust: TrustStore) -> None:
    headers = signed(user_certificate("pid-1f3a", hospital.ca, {}))
    del headers[header]
    with pytest.raises(RequestError, match=f"unsigned request: no {header}"):
        verify(headers, trust)
