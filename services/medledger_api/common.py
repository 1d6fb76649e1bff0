"""Types every service's models share: identifiers as they appear on the wire, and the one-line refusal."""

from __future__ import annotations

import base64
import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

MspId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9.-]{0,62}$")]
# A pseudonym (PID), the only enrolment ID the registry gives a person.
PID_PATTERN = re.compile(r"^pid-[0-9a-f]{60}$")
Pid = Annotated[str, StringConstraints(pattern=PID_PATTERN.pattern)]
# A treatment ID (TID) as the ledger's schema has it (ledger_entities.schema.json, treatmentId).
TreatmentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=16384)]


class Role(StrEnum):
    """What a registered user is (medledger.role in the certificate): the paper's patients, doctors and
    third-party users."""

    PATIENT = "patient"
    DOCTOR = "doctor"
    THIRD_PARTY = "thirdparty"


class Model(BaseModel):
    """Messages refuse unknown fields and do not change once made."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(Model):
    """Every refusal: one line."""

    detail: str


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
