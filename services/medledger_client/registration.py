"""The registry as its clients use it: a manager asks for a registration and collects the enrolment secret, the SA
approves, a registered user publishes its Umbral keys, anyone looks a user up and checks the keys' signature."""

from __future__ import annotations

import base64
import uuid

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medledger_api.common import Role
from medledger_api.registry import (
    DirectoryEntry,
    Registration,
    RegistrationRequest,
    RegistrationSummary,
    SharingKeysPublication,
    sharing_keys_statement,
)
from medledger_api.signed_request import RequestError, Signer, check_signature

from .service_client import ServiceClient, path_segment
from .sharing_keys import SharingKeys

AUDIENCE = "registry"


class DirectoryError(Exception):
    """A directory entry whose keys do not carry the signature of the certificate published with them."""


def ask(
    registry: ServiceClient, rid: str, role: Role, organisation: str, key: ec.EllipticCurvePrivateKey
) -> Registration:
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    body = RegistrationRequest(rid=rid, role=role, organisation=organisation, public_key=public)
    return Registration.model_validate(registry.call("POST", "/registrations", body))


def pending(registry: ServiceClient) -> list[RegistrationSummary]:
    return [RegistrationSummary.model_validate(item) for item in registry.call("GET", "/registrations")]


def approve(registry: ServiceClient, request_id: uuid.UUID) -> Registration:
    return Registration.model_validate(registry.call("POST", f"/registrations/{request_id}/approval"))


def collect(registry: ServiceClient, request_id: uuid.UUID) -> Registration:
    """The requester's view of its request; the enrolment secret is in the first answer after approval only."""
    return Registration.model_validate(registry.call("GET", f"/registrations/{request_id}"))


def publish_keys(registry: ServiceClient, user: Signer, pid: str, keys: SharingKeys) -> None:
    public, verifying = keys.public_key.hex(), keys.verifying_key.hex()
    signature = base64.b64encode(user.sign(sharing_keys_statement(pid, public, verifying))).decode()
    body = SharingKeysPublication(public_key=public, verifying_key=verifying, signature=signature)
    registry.call("PUT", f"/directory/{path_segment(pid)}", body)


def look_up(registry: ServiceClient, pid: str) -> DirectoryEntry:
    """A user's directory entry, its keys' signature checked against its certificate here: the registry cannot
    substitute keys. (Whether the certificate is one of the user's organisation's CAs is the caller's check.)"""
    entry = DirectoryEntry.model_validate(registry.call("GET", f"/directory/{path_segment(pid)}"))
    keys = entry.sharing_keys
    certificate = x509.load_pem_x509_certificate(entry.certificate.encode())
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names or names[0].value != pid:
        raise DirectoryError(f"the directory's certificate for {pid} names someone else")
    try:
        check_signature(certificate, keys.signature, sharing_keys_statement(pid, keys.public_key, keys.verifying_key))
    except RequestError:
        raise DirectoryError(f"the directory's keys for {pid} are not signed by its certificate") from None
    return entry
