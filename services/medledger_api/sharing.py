"""What the sharing proxy (the paper's semi-trusted cloud server) and its clients exchange: a patient's share of
one record with one receiver, and its delivery, which happens only after the share's usage record committed."""

from __future__ import annotations

import datetime
import uuid
from enum import StrEnum
from typing import Any

from pydantic import Field

from .common import Base64, Model, MspId, Pid, TreatmentId


class ShareRequest(Model):
    """A patient shares the record of one treatment with one receiver: the capsule of the record's data key
    (wrapped to the patient's Umbral key) and a key fragment the patient granted for that receiver."""

    treatment: TreatmentId
    receiver: Pid
    capsule: Base64
    wrapped_key: Base64 = Field(description="the data key's ciphertext under the capsule (not a secret)")
    kfrag: Base64
    grant: uuid.UUID | None = Field(
        None,
        description="threshold sharing: the patient's grant this share is one key fragment of, the same at each"
        " proxy it chose; the receiver opens the record with the capsule fragments of `threshold` of them",
    )


class ShareState(StrEnum):
    PENDING = "pending"  # the patient may still revoke it
    RECORDED = "recorded"  # its usage record committed; delivery is under way
    DELIVERED = "delivered"
    REVOKED = "revoked"


class Share(Model):
    share_id: uuid.UUID
    patient: Pid
    patient_msp_id: MspId
    receiver: Pid
    receiver_msp_id: MspId
    treatment: str
    state: ShareState
    created_at: datetime.datetime
    grant: uuid.UUID | None = None


class Delivery(Model):
    """What the receiver gets: the capsule fragment only it can use, the wrapped key, the record's index entry as
    the proxy read it on the Patient Channel (a third party cannot read that channel), and the usage record's
    transaction on the Data Usage Channel."""

    share: Share
    capsule: Base64
    cfrag: Base64
    wrapped_key: Base64
    record: dict[str, Any] = Field(description="the PatientDataEntity, as on the ledger")
    usage_transaction_id: str
