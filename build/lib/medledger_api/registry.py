"""What the registry (the paper's SA) and its clients exchange: registration requests and their answers, and the
certificate directory's entries (the paper's "cloud database" of certificates and public keys)."""

from __future__ import annotations

import base64
import datetime
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MspId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9.-]{0,62}$")]
Pid = Annotated[str, StringConstraints(pattern=r"^pid-[0-9a-f]{60}$")]
CompressedPoint = Annotated[str, StringConstraints(pattern=r"^0[23][0-9a-f]{64}$")]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=4096)]
PemPublicKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$", max_length=1024
    ),
]
SHARING_KEY_STATEMENT = b"medledger/sharing-keys/v1"


class Role(StrEnum):
    """What a registered user is (medledger.role in the certificate): the paper's patients, doctors and
    third-party users."""

    PATIENT = "patient"
    DOCTOR = "doctor"
    THIRD_PARTY = "thirdparty"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistrationRequest(_Model):
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


class RegistrationSummary(_Model):
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


class SharingKeysPublication(_Model):
    """A user's Umbral keys for the directory, signed by the user's enrolment key (sharing_keys_statement),
    so that nobody, the registry included, can substitute them."""

    public_key: CompressedPoint
    verifying_key: CompressedPoint
    signature: Base64 = Field(description="base64 DER ECDSA signature by the enrolment key")


class DirectoryEntry(_Model):
    pid: Pid
    msp_id: MspId
    role: Role
    certificate: str = Field(description="the user's enrolment certificate, PEM")
    sharing_keys: SharingKeysPublication


class Problem(_Model):
    """Every refusal: one line."""

    detail: str


def sharing_keys_statement(pid: str, public_key: str, verifying_key: str) -> bytes:
    """What the enrolment key signs to publish Umbral keys: bound to the pseudonym, so that one user's signed
    keys cannot be published as another's."""
    return b"\n".join((SHARING_KEY_STATEMENT, pid.encode(), public_key.encode(), verifying_key.encode()))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
