"""The sharing proxy's database (migrations/0001): shares and how far each got."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg import sql
from psycopg.types.json import Jsonb

from medledger_api.sharing import Share, ShareState
from medledger_service_base.database import Database


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class StoredShare:
    share_id: uuid.UUID
    patient: str
    patient_msp_id: str
    receiver: str
    receiver_msp_id: str
    treatment: str
    state: ShareState
    created_at: datetime.datetime
    capsule: bytes
    wrapped_key: bytes
    kfrag: bytes
    record: dict[str, Any]
    keys: dict[str, str]  # the Umbral public keys the kfrag verified with: delegating, verifying, receiving
    cfrag: bytes | None = None
    usage_transaction_id: str | None = None
    grant: uuid.UUID | None = None

    def shown(self) -> Share:
        return Share(
            share_id=self.share_id,
            patient=self.patient,
            patient_msp_id=self.patient_msp_id,
            receiver=self.receiver,
            receiver_msp_id=self.receiver_msp_id,
            treatment=self.treatment,
            state=self.state,
            created_at=self.created_at,
            grant=self.grant,
        )


class ShareStore(Protocol):
    def add(self, share: StoredShare) -> None: ...

    def of_party(self, pid: str, msp_id: str) -> list[StoredShare]: ...

    def change(self, share_id: uuid.UUID, step: Callable[[StoredShare], StoredShare]) -> StoredShare:
        """Lock the share, let `step` decide its next version, keep it; nothing is kept when `step` raises."""
        ...


_NAMES = (
    "share_id", "patient", "patient_msp_id", "receiver", "receiver_msp_id", "treatment", "state", "created_at",
    "capsule", "wrapped_key", "kfrag", "record", "keys", "cfrag", "usage_transaction_id",
    "grant_id",
)  # fmt: skip
_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, _NAMES))
_INSERT = sql.SQL("INSERT INTO shares ({}) VALUES ({})").format(
    _COLUMNS, sql.SQL(", ").join([sql.Placeholder()] * len(_NAMES))
)


def _stored(row: tuple[Any, ...]) -> StoredShare:
    values = list(row)
    values[6] = ShareState(values[6])
    values[8:11] = [bytes(value) for value in values[8:11]]
    values[13] = bytes(values[13]) if values[13] is not None else None
    return StoredShare(*values)


class PostgresShareStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, share: StoredShare) -> None:
        with self.database.transaction() as connection:
            connection.execute(
                _INSERT,
                (share.share_id, share.patient, share.patient_msp_id, share.receiver, share.receiver_msp_id,
                 share.treatment, share.state.value, share.created_at, share.capsule, share.wrapped_key, share.kfrag,
                 Jsonb(share.record), Jsonb(share.keys), share.cfrag, share.usage_transaction_id, share.grant),
            )  # fmt: skip

    def of_party(self, pid: str, msp_id: str) -> list[StoredShare]:
        query = sql.SQL(
            "SELECT {} FROM shares WHERE (patient = %s AND patient_msp_id = %s)"
            " OR (receiver = %s AND receiver_msp_id = %s) ORDER BY created_at DESC LIMIT 500"
        ).format(_COLUMNS)
        with self.database.transaction() as connection:
            rows = connection.execute(query, (pid, msp_id, pid, msp_id)).fetchall()
        return [_stored(row) for row in rows]

    def change(self, share_id: uuid.UUID, step: Callable[[StoredShare], StoredShare]) -> StoredShare:
        with self.database.transaction() as connection:
            row = connection.execute(
                sql.SQL("SELECT {} FROM shares WHERE share_id = %s FOR UPDATE").format(_COLUMNS), (share_id,)
            ).fetchone()
            if row is None:
                raise NotFound
            changed = step(_stored(row))
            connection.execute(
                "UPDATE shares SET state = %s, cfrag = %s, usage_transaction_id = %s WHERE share_id = %s",
                (changed.state.value, changed.cfrag, changed.usage_transaction_id, share_id),
            )
        return changed
