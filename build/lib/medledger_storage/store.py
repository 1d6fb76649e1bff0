"""The storage service's database (migrations/0001): which objects exist and whose they are, who else may read
them, and every read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import psycopg

from medledger_api.storage import Read
from medledger_service_base.database import Database


@dataclass(frozen=True)
class Party:
    pid: str
    msp_id: str


@dataclass(frozen=True)
class ObjectRow:
    sha384: str
    owner: Party
    size: int


class ObjectTaken(Exception):
    """Another party already stored an object with this content."""


class StorageStore(Protocol):
    def find(self, sha384: str) -> ObjectRow | None: ...

    def add(self, row: ObjectRow) -> None: ...

    def may_read(self, sha384: str, reader: Party) -> bool: ...

    def record_read(self, sha384: str, reader: Party) -> None: ...

    def grant(self, sha384: str, receiver: Party, granted_by: str) -> None: ...

    def reads_of(self, owner: Party) -> list[Read]: ...


class PostgresStorageStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def find(self, sha384: str) -> ObjectRow | None:
        with self.database.transaction() as connection:
            row = connection.execute(
                "SELECT sha384, owner, owner_msp_id, size FROM objects WHERE sha384 = %s", (sha384,)
            ).fetchone()
        return None if row is None else ObjectRow(row[0], Party(row[1], row[2]), row[3])

    def add(self, row: ObjectRow) -> None:
        try:
            with self.database.transaction() as connection:
                connection.execute(
                    "INSERT INTO objects (sha384, owner, owner_msp_id, size) VALUES (%s, %s, %s, %s)",
                    (row.sha384, row.owner.pid, row.owner.msp_id, row.size),
                )
        except psycopg.errors.UniqueViolation:
            raise ObjectTaken from None

    def may_read(self, sha384: str, reader: Party) -> bool:
        with self.database.transaction() as connection:
            row = connection.execute(
                "SELECT 1 FROM objects WHERE sha384 = %s AND owner = %s AND owner_msp_id = %s"
                " UNION ALL SELECT 1 FROM grants WHERE sha384 = %s AND receiver = %s AND receiver_msp_id = %s",
                (sha384, reader.pid, reader.msp_id, sha384, reader.pid, reader.msp_id),
            ).fetchone()
        return row is not None

    def record_read(self, sha384: str, reader: Party) -> None:
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO reads (sha384, reader, reader_msp_id) VALUES (%s, %s, %s)",
                (sha384, reader.pid, reader.msp_id),
            )

    def grant(self, sha384: str, receiver: Party, granted_by: str) -> None:
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO grants (sha384, receiver, receiver_msp_id, granted_by) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (sha384, receiver.pid, receiver.msp_id, granted_by),
            )

    def reads_of(self, owner: Party) -> list[Read]:
        with self.database.transaction() as connection:
            rows = connection.execute(
                "SELECT r.sha384, r.reader, r.reader_msp_id, r.read_at FROM reads r JOIN objects o USING (sha384)"
                " WHERE o.owner = %s AND o.owner_msp_id = %s ORDER BY r.read_at DESC LIMIT 1000",
                (owner.pid, owner.msp_id),
            ).fetchall()
        return [Read(sha384=row[0], reader=row[1], reader_msp_id=row[2], read_at=row[3]) for row in rows]
