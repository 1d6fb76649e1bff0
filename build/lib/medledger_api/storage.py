"""What the storage service (the paper's cloud storage server) and its clients exchange: encrypted records
addressed by the SHA-384 of their ciphertext, who may read them, and who did."""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from .common import Model, MspId, Pid

Sha384 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{96}$")]


class StoredObject(Model):
    sha384: Sha384
    size: int = Field(ge=0)
    owner: Pid
    owner_msp_id: MspId
    url: str = Field(description="the HTTPS URL the record's index entry names (dataSaveUrl)")


class Grant(Model):
    """The sharing proxy lets a share's receiver read one object, once the share's usage record committed."""

    receiver: Pid
    receiver_msp_id: MspId


class Read(Model):
    """One entry of the append-only audit trail of reads."""

    sha384: Sha384
    reader: str
    reader_msp_id: str
    read_at: datetime.datetime
