"""Requests to the services, signed by the caller's enrolment key: the format both sides share.

Every request carries the caller's enrolment certificate, a timestamp, a nonce, the SHA-384 of its body and
an ECDSA signature over a canonical form of all of that plus the method, path, query and the service it is
meant for (its audience). The service checks the certificate against the organisations' CAs and CRLs, the
signature, the time window and that the nonce is new, and only then reads the body, whose digest it compares
before it keeps anything.

Why signed requests and not mutual TLS: uvicorn does not hand the client certificate of a TLS connection to
the application (the ASGI TLS extension is unimplemented in its releases), and a signature per request also
gives what mutual TLS does not: replay protection bound to the request, and a signed statement of who asked
for what that the audit trail can keep. The ports still speak TLS only; the server authenticates itself by its
TLS certificate from the organisation's TLS CA.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

PROTOCOL = "MEDLEDGER-REQUEST-1"
CERTIFICATE_HEADER = "medledger-certificate"
TIMESTAMP_HEADER = "medledger-timestamp"
NONCE_HEADER = "medledger-nonce"
CONTENT_HEADER = "medledger-content-sha384"
SIGNATURE_HEADER = "medledger-signature"
HEADERS = (CERTIFICATE_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, CONTENT_HEADER, SIGNATURE_HEADER)

DEFAULT_WINDOW_MS = 300_000
# Fabric CA writes an identity's attributes (hf.*, and ours: medledger.role, medledger.proxy) into this
# extension, as JSON.
FABRIC_ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")

_NONCE = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"[0-9a-f]{96}")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384}
_MAX_CERTIFICATE_BYTES = 8192


class RequestError(Exception):
    """A request the service refuses before reading its body: unsigned, badly signed, from a certificate no
    trusted CA issued or one revoked, stale, or replayed. The message is one line, safe to return."""


class Signer(Protocol):
    """An enrolled identity that signs requests (the client's Identity)."""

    @property
    def certificate_pem(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class NonceStore(Protocol):
    """Remembers the nonces of accepted requests for as long as their timestamps stay inside the window."""

    def remember(self, nonce: str, caller_fingerprint: str, expires_ms: int) -> bool:
        """Keep the nonce; False when this caller already used it (a replay)."""
        ...


def content_digest(body: bytes) -> str:
    return hashlib.sha384(body).hexdigest()


def canonical_request(
    *, audience: str, method: str, path: str, query: str, timestamp_ms: int, nonce: str, digest: str
) -> bytes:
    """What the signature covers, one field per line. `path` and `query` are as sent (percent-encoded), so
    both sides see the same bytes without normalising them."""
    fields = (PROTOCOL, audience, method.upper(), path, query, str(timestamp_ms), nonce, digest)
    return "\n".join(fields).encode()


def sign_request(
    signer: Signer,
    *,
    audience: str,
    method: str,
    path: str,
    query: str = "",
    digest: str,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request. `digest` is content_digest() of the body (of b"" when
    there is none); a streamed upload signs the digest it computed before sending."""
    timestamp_ms = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    nonce = os.urandom(16).hex() if nonce is None else nonce
    certificate = x509.load_pem_x509_certificate(signer.certificate_pem)
    message = canonical_request(
        audience=audience, method=method, path=path, query=query, timestamp_ms=timestamp_ms, nonce=nonce, digest=digest
    )
    return {
        CERTIFICATE_HEADER: base64.b64encode(certificate.public_bytes(Encoding.DER)).decode(),
        TIMESTAMP_HEADER: str(timestamp_ms),
        NONCE_HEADER: nonce,
        CONTENT_HEADER: digest,
        SIGNATURE_HEADER: base64.b64encode(signer.sign(message)).decode(),
    }


@dataclass(frozen=True)
class Organisation:
    """What a service trusts of one organisation: its MSP's roots, intermediate CAs and their CRLs."""

    msp_id: str
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()


@dataclass(frozen=True)
class TrustStore:
    organisations: tuple[Organisation, ...]

    @classmethod
    def from_msp_folders(cls, folders: Mapping[str, Path]) -> TrustStore:
        """MSP ID -> an MSP folder as Fabric lays it out (cacerts/, intermediatecerts/, crls/, PEM files)."""
        return cls(
            tuple(
                Organisation(
                    msp_id,
                    tuple(_certificates(folder / "cacerts")),
                    tuple(_certificates(folder / "intermediatecerts")),
                    tuple(
                        x509.load_pem_x509_crl(path.read_bytes())
                        for path in sorted((folder / "crls").glob("*.pem"))
                        if path.is_file()
                    ),
                )
                for msp_id, folder in sorted(folders.items())
            )
        )

    def identify(self, certificate: x509.Certificate, now_ms: int) -> str:
        """The MSP ID of the organisation whose intermediate CA issued `certificate` under its root, the
        certificate valid now and not revoked; else RequestError."""
        now = _instant(now_ms)
        if _is_ca(certificate):
            raise RequestError("the request's certificate is a CA's, not a user's")
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise RequestError("the request's certificate is not valid now (expired or not yet valid)")
        for organisation in self.organisations:
            issuer = _issuer_within(certificate, organisation, now)
            if issuer is None:
                continue
            _check_not_revoked(certificate, issuer, organisation)
            return organisation.msp_id
        raise RequestError("the request's certificate was not issued by any trusted organisation's CA")


@dataclass(frozen=True)
class Caller:
    """Who sent a verified request."""

    enrolment_id: str
    msp_id: str
    attributes: Mapping[str, str]
    certificate: x509.Certificate = field(repr=False)
    fingerprint: str

    @property
    def role(self) -> str:
        return self.attributes.get("medledger.role", "")


@dataclass(frozen=True)
class VerifiedRequest:
    caller: Caller
    digest: str

    def check_body(self, digest: str) -> None:
        """Raise RequestError unless the body read has the digest the caller signed."""
        if digest != self.digest:
            raise RequestError("the body does not match the digest the request signed")


def verify_request(
    headers: Mapping[str, str],
    *,
    audience: str,
    method: str,
    path: str,
    query: str,
    trust: TrustStore,
    nonces: NonceStore,
    now_ms: int | None = None,
    window_ms: int = DEFAULT_WINDOW_MS,
) -> VerifiedRequest:
    """Check a request's signature headers (names in lower case) before its body is read."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    missing = [name for name in HEADERS if not headers.get(name)]
    if missing:
        raise RequestError(f"unsigned request: no {', '.join(missing)} header")
    certificate = _certificate(headers[CERTIFICATE_HEADER])
    timestamp_ms = _timestamp(headers[TIMESTAMP_HEADER])
    nonce, digest = headers[NONCE_HEADER], headers[CONTENT_HEADER]
    if not _NONCE.fullmatch(nonce):
        raise RequestError("the nonce must be 32 lowercase hex digits")
    if not _DIGEST.fullmatch(digest):
        raise RequestError("the content digest must be a SHA-384 in lowercase hex")
    if abs(now_ms - timestamp_ms) > window_ms:
        raise RequestError(f"the request's timestamp is more than {window_ms // 1000} s from the service's clock")
    msp_id = trust.identify(certificate, now_ms)
    message = canonical_request(
        audience=audience, method=method, path=path, query=query, timestamp_ms=timestamp_ms, nonce=nonce, digest=digest
    )
    check_signature(certificate, headers[SIGNATURE_HEADER], message)
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    if not nonces.remember(nonce, fingerprint, timestamp_ms + window_ms):
        raise RequestError("replayed request: this nonce was already used")
    caller = Caller(_common_name(certificate), msp_id, certificate_attributes(certificate), certificate, fingerprint)
    return VerifiedRequest(caller, digest)


def _certificates(folder: Path) -> Iterator[x509.Certificate]:
    for path in sorted(folder.glob("*.pem")):
        yield from x509.load_pem_x509_certificates(path.read_bytes())


def _instant(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued(child: x509.Certificate, parent: x509.Certificate, now: datetime.datetime) -> bool:
    """Whether `parent`, a CA valid now, signed `child`."""
    if child.issuer != parent.subject or not _is_ca(parent):
        return False
    if not parent.not_valid_before_utc <= now <= parent.not_valid_after_utc:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _issuer_within(
    certificate: x509.Certificate, organisation: Organisation, now: datetime.datetime
) -> x509.Certificate | None:
    """The organisation's intermediate CA that issued `certificate`, when one of its roots issued that CA."""
    for intermediate in organisation.intermediates:
        if _issued(certificate, intermediate, now) and any(
            _issued(intermediate, root, now) for root in organisation.roots
        ):
            return intermediate
    return None


def _check_not_revoked(certificate: x509.Certificate, issuer: x509.Certificate, organisation: Organisation) -> None:
    issuer_key = issuer.public_key()
    for crl in organisation.crls:
        if crl.issuer != issuer.subject:
            continue
        if not isinstance(issuer_key, ec.EllipticCurvePublicKey) or not crl.is_signature_valid(issuer_key):
            raise RequestError(f"the CRL of {organisation.msp_id}'s CA does not verify with that CA's key")
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            raise RequestError("the request's certificate is revoked")


def _certificate(header: str) -> x509.Certificate:
    if len(header) > _MAX_CERTIFICATE_BYTES:
        raise RequestError("the request's certificate header is too long")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(header, validate=True))
    except (ValueError, binascii.Error):
        raise RequestError("the request's certificate header is not a base64 DER X.509 certificate") from None


def _timestamp(header: str) -> int:
    if not header.isdigit() or len(header) > 15:
        raise RequestError("the request's timestamp must be milliseconds since the epoch")
    return int(header)


def check_signature(certificate: x509.Certificate, header: str, message: bytes) -> None:
    """Raise RequestError unless `header` (base64 DER ECDSA) is the certificate's key's signature of message."""
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _HASHES:
        raise RequestError("the request's certificate holds no P-256 or P-384 key")
    try:
        signature = base64.b64decode(header, validate=True)
        key.verify(signature, message, ec.ECDSA(_HASHES[key.curve.name]()))
    except (ValueError, binascii.Error, InvalidSignature):
        raise RequestError("the request's signature does not verify with its certificate") from None


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names:
        raise RequestError("the request's certificate names no enrolment ID (common name)")
    return str(names[0].value)


def certificate_attributes(certificate: x509.Certificate) -> dict[str, str]:
    """Fabric CA's attributes of the identity; none when the certificate carries none."""
    try:
        raw = certificate.extensions.get_extension_for_oid(FABRIC_ATTRIBUTES_OID).value
    except x509.ExtensionNotFound:
        return {}
    if not isinstance(raw, x509.UnrecognizedExtension):
        return {}
    try:
        attributes = json.loads(raw.value).get("attrs", {})
    except (ValueError, AttributeError):
        raise RequestError("the request's certificate has unreadable Fabric attributes") from None
    return {str(name): str(value) for name, value in attributes.items()}
