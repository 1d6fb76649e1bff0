"""What the registry (the paper's SA) and its clients exchange: registration requests and their answers, and the
certificate directory's entries (the paper's "cloud database" of certificates and public keys)."""

from __future__ import annotations

import datetime
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from .common import Base64, Model, MspId, Pid, Role

CompressedPoint = Annotated[str, StringConstraints(pattern=r"^0[23][0-9a-f]{64}$")]
PemPublicKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$", max_length=1024
    ),
]
SHARING_KEY_STATEMENT = b"medledger/sharing-keys/v1"


class RegistrationRequest(Model):
    """A request to register one person, sent by their organisation's manager (medledger.role=manager)."""

    rid: str = Field(min_length=1, max_length=256, description="the real identity; the registry alone keeps it")
    role: Role
    organisation: MspId = Field(description="the MSP ID of the organisation whose CA will issue the certificate")
    public_key: PemPublicKey = Field(
        description="the person's P-256 public key: the pseudonym is the SHA-384 of the RID sealed to it"
    )


class RegistrationState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"


class RegistrationSummary(Model):
    """A registration as the SA lists it for approval: never the RID."""

    request_id: uuid.UUID
    state: RegistrationState
    role: Role
    organisation: MspId
    requested_at: datetime.datetime


class Registration(RegistrationSummary):
    """A registration as its requester sees it. Once approved: the pseudonym, the sealed RID that hashes to it
    (opened by the person's key), and the enrolment secret, given out once."""

    pid: Pid | None = None
    sealed_rid: Base64 | None = None
    enrolment_secret: str | None = None


class SharingKeysPublication(Model):
    """A user's Umbral keys for the directory, signed by the user's enrolment key (sharing_keys_statement),
    so that nobody, the registry included, can substitute them."""

    public_key: CompressedPoint
    verifying_key: CompressedPoint
    signature: Base64 = Field(description="base64 DER ECDSA signature by the enrolment key")


class DirectoryEntry(Model):
    pid: Pid
    msp_id: MspId
    role: Role
    certificate: str = Field(description="the user's enrolment certificate, PEM")
    sharing_keys: SharingKeysPublication


def sharing_keys_statement(pid: str, public_key: str, verifying_key: str) -> bytes:
    """What the enrolment key signs to publish Umbral keys: bound to the pseudonym, so that one user's signed
    keys cannot be published as another's."""
    return b"\n".join((SHARING_KEY_STATEMENT, pid.encode(), public_key.encode(), verifying_key.encode()))
