"""Fabric CA's REST API: enrol (the key pair is made here, only the signing request leaves) and register.

An identity must be registered first, by a registrar of its organisation; enrolment needs its ID and secret.
Registration is authorised by a token the registrar signs over the request (Fabric CA's token format).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .identity import Identity

# Fabric CA answers within seconds; a stuck request should fail, not hang a client.
TIMEOUT_SECONDS = 30


class EnrolmentError(Exception):
    """The CA refused the enrolment or could not be reached; its own message is kept."""


@dataclass(frozen=True)
class Enrolled:
    certificate_pem: bytes
    chain_pem: bytes
    key: ec.EllipticCurvePrivateKey

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write_msp(self, folder: Path) -> None:
        """signcerts/, keystore/ (mode 0600) and the CA chain, as fabric-ca-client lays them out."""
        self._write(folder / "signcerts" / "cert.pem", self.certificate_pem)
        self._write(folder / "keystore" / "key.pem", self.key_pem(), private=True)
        self._write(folder / "cacerts" / "chain.pem", self.chain_pem)

    def write_tls(self, folder: Path) -> None:
        """server.crt, server.key (mode 0600) and ca.crt, as our TLS folders are laid out."""
        self._write(folder / "server.crt", self.certificate_pem)
        self._write(folder / "server.key", self.key_pem(), private=True)
        self._write(folder / "ca.crt", self.chain_pem)

    @staticmethod
    def _write(path: Path, content: bytes, *, private: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if private:
            write_private(path, content)
        else:
            path.write_bytes(content)


def write_private(path: str | Path, content: bytes) -> None:
    """A file only its owner reads: mode 0600 before the first byte, also when it existed with a looser
    mode (a mode given at creation does not change an existing file's)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        os.fchmod(descriptor, 0o600)
        stream.truncate()
        stream.write(content)


def enrol(
    ca_address: str,
    ca_name: str,
    enrolment_id: str,
    secret: str,
    tls_root_pem: bytes,
    *,
    tls_profile: bool = False,
    key: ec.EllipticCurvePrivateKey | None = None,
    hosts: Sequence[str] = (),
) -> Enrolled:
    """Enrol enrolment_id at ca_name (server ca_address, whose TLS certificate chains to tls_root_pem) with
    `key`, or a P-256 key made here; tls_profile asks a TLS CA for a TLS certificate, naming `hosts`."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, enrolment_id)]))
        .sign(key, hashes.SHA256())
    )
    body: dict[str, object] = {
        "certificate_request": request.public_bytes(serialization.Encoding.PEM).decode(),
        "caname": ca_name,
    }
    if tls_profile:
        body["profile"] = "tls"
    if hosts:
        body["hosts"] = list(hosts)
    credentials = base64.b64encode(f"{enrolment_id}:{secret}".encode()).decode()
    encoded = json.dumps(body).encode()
    what = f"{enrolment_id} ({ca_name})"
    result = _call(ca_address, "/api/v1/enroll", encoded, f"Basic {credentials}", tls_root_pem, what=what)
    return Enrolled(base64.b64decode(result["Cert"]), base64.b64decode(result["ServerInfo"]["CAChain"]), key)


def ca_chain(ca_address: str, ca_name: str, tls_root_pem: bytes) -> bytes:
    """The certificate chain ca_name serves (its own certificate, then its issuers'): public, no credentials."""
    body = json.dumps({"caname": ca_name}).encode()
    result = _call(ca_address, "/api/v1/cainfo", body, "", tls_root_pem, what=f"the chain of {ca_name}")
    return base64.b64decode(result["CAChain"])


def register(
    ca_address: str,
    ca_name: str,
    registrar: Identity,
    tls_root_pem: bytes,
    *,
    enrolment_id: str,
    secret: str,
    affiliation: str,
    attributes: dict[str, str],
    max_enrollments: int = 1,
    identity_type: str = "client",
) -> None:
    """Register an identity (a client unless identity_type says otherwise) at ca_name with the given secret,
    signed by `registrar` (an identity whose hf.Registrar.* attributes at that CA allow it). Attributes go into
    the enrolment certificate."""
    body = {
        "id": enrolment_id,
        "type": identity_type,
        "secret": secret,
        "affiliation": affiliation,
        "max_enrollments": max_enrollments,
        "attrs": [{"name": name, "value": value, "ecert": True} for name, value in sorted(attributes.items())],
        "caname": ca_name,
    }
    path = "/api/v1/register"
    encoded = json.dumps(body).encode()
    token = _token(registrar, "POST", path, encoded)
    _call(ca_address, path, encoded, token, tls_root_pem, what=f"{enrolment_id} ({ca_name})")


def _token(registrar: Identity, method: str, path: str, body: bytes) -> str:
    """Fabric CA's authorisation token: the registrar's certificate and its signature over the method, the
    path, the body and the certificate, each base64-encoded, joined by dots."""
    certificate = base64.b64encode(registrar.certificate_pem).decode()
    parts = (method, base64.b64encode(path.encode()).decode(), base64.b64encode(body).decode(), certificate)
    return f"{certificate}.{base64.b64encode(registrar.sign('.'.join(parts).encode())).decode()}"


def _call(ca_address: str, path: str, body: bytes, authorization: str, tls_root_pem: bytes, *, what: str) -> Any:
    http_request = urllib.request.Request(
        f"https://{ca_address}{path}",
        data=body,
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cadata=tls_root_pem.decode())
    try:
        with urllib.request.urlopen(http_request, timeout=TIMEOUT_SECONDS, context=context) as response:  # noqa: S310 - https only
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise EnrolmentError(f"{what} at {ca_address}: {error.code} {_messages(error.read())}") from None
    except (urllib.error.URLError, OSError) as error:
        raise EnrolmentError(f"{what} at {ca_address}: {error}") from None
    if not answer.get("success"):
        raise EnrolmentError(f"{what} at {ca_address}: {_messages(json.dumps(answer).encode())}")
    return answer["result"]


def _messages(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors", [])
    except (json.JSONDecodeError, AttributeError):
        return body.decode(errors="replace")[:200]
    return "; ".join(str(error.get("message", error)) for error in errors) or "refused"
