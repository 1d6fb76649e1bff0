"""Throw-away organisations for unit tests of the services' authentication: a root, an intermediate CA, its
CRL laid out as a verifying MSP folder, and users with enrolment certificates as Fabric CA issues them."""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medledger_api.signed_request import FABRIC_ATTRIBUTES_OID, content_digest, sign_request

from .certificates import Issued, issue

if TYPE_CHECKING:
    import httpx2
    from fastapi.testclient import TestClient

NOW_MS = time.time_ns() // 1_000_000  # the throw-away CAs of .certificates are valid around now


@dataclass(frozen=True)
class User:
    issued: Issued

    @property
    def certificate_pem(self) -> bytes:
        return self.issued.certificate_pem

    def sign(self, message: bytes) -> bytes:
        return self.issued.key.sign(message, ec.ECDSA(hashes.SHA256()))


class Nonces:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def remember(self, nonce: str, caller_fingerprint: str, expires_ms: int) -> bool:
        if (nonce, caller_fingerprint) in self.seen:
            return False
        self.seen.add((nonce, caller_fingerprint))
        return True


def user_certificate(
    name: str,
    issuer: Issued,
    attributes: dict[str, str] | None = None,
    *,
    valid_hours: float = 1,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> Issued:
    """An enrolment certificate as Fabric CA issues it: CN = enrolment ID, attributes in their extension; for
    `key`, or a key made here."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.fromtimestamp(NOW_MS / 1000, datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=2))
        .not_valid_after(now + datetime.timedelta(hours=valid_hours))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if attributes is not None:
        value = json.dumps({"attrs": {"hf.EnrollmentID": name, **attributes}}).encode()
        builder = builder.add_extension(x509.UnrecognizedExtension(FABRIC_ATTRIBUTES_OID, value), critical=False)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Organisation:
    msp_id: str
    root: Issued
    ca: Issued

    @classmethod
    def made(cls, msp_id: str) -> Organisation:
        root = issue(f"{msp_id} root", ca=True)
        return cls(msp_id, root, issue(f"ca-{msp_id.lower()}", root, ca=True))

    def write(self, folder: Path, revoked: tuple[x509.Certificate, ...] = (), crl_key: Issued | None = None) -> Path:
        msp = folder / self.msp_id
        for sub, issued in (("cacerts", self.root), ("intermediatecerts", self.ca)):
            (msp / sub).mkdir(parents=True)
            (msp / sub / "ca.pem").write_bytes(issued.certificate_pem)
        (msp / "crls").mkdir()
        now = datetime.datetime.fromtimestamp(NOW_MS / 1000, datetime.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.certificate.subject)
            .last_update(now - datetime.timedelta(hours=1))
            .next_update(now + datetime.timedelta(days=1))
        )
        for certificate in revoked:
            entry = x509.RevokedCertificateBuilder().serial_number(certificate.serial_number)
            builder = builder.add_revoked_certificate(entry.revocation_date(now).build())
        crl = builder.sign((crl_key or self.ca).key, hashes.SHA256())
        (msp / "crls" / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return msp


def send_signed(
    client: TestClient, user: Issued, method: str, path: str, body: Any = None, *, audience: str
) -> httpx2.Response:
    """A request to a service's test client as `user`, its JSON body (if any) signed with it."""
    content = b"" if body is None else json.dumps(body).encode()
    headers = sign_request(User(user), audience=audience, method=method, path=path, digest=content_digest(content))
    return client.request(method, path, content=content, headers={**headers, "content-type": "application/json"})
