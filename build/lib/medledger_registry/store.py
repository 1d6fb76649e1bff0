"""The registry's database: registrations (migrations/0001) and the certificate directory. RIDs enter and leave
it only encrypted (pseudonyms.py); every change is one transaction."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg import sql

from medledger_api.common import Role, b64
from medledger_api.registry import (
    DirectoryEntry,
    Registration,
    RegistrationState,
    RegistrationSummary,
    SharingKeysPublication,
)
from medledger_service_base.database import Database


class AlreadyRegistered(Exception):
    """This person (by the lookup hash of their RID) already has a registration, pending or approved."""


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class StoredRequest:
    request_id: uuid.UUID
    state: RegistrationState
    role: Role
    organisation: str
    requester: str
    requested_at: datetime.datetime
    public_key: str
    rid_encrypted: bytes
    pid: str | None
    sealed_rid: bytes | None
    enrolment_secret: str | None

    def summary(self) -> RegistrationSummary:
        return RegistrationSummary(
            request_id=self.request_id,
            state=self.state,
            role=self.role,
            organisation=self.organisation,
            requested_at=self.requested_at,
        )

    def registration(self, *, with_secret: bool) -> Registration:
        return Registration(
            **self.summary().model_dump(),
            pid=self.pid,
            sealed_rid=b64(self.sealed_rid) if self.sealed_rid else None,
            enrolment_secret=self.enrolment_secret if with_secret else None,
        )


@dataclass(frozen=True)
class Approval:
    pid: str
    sealed_rid: bytes
    rid_encrypted: bytes
    enrolment_secret: str
    approved_by: str


class RegistryStore(Protocol):
    def add(self, request: StoredRequest, rid_lookup: bytes) -> None: ...

    def pending(self) -> list[RegistrationSummary]: ...

    def get(self, request_id: uuid.UUID) -> StoredRequest: ...

    def approve(self, request_id: uuid.UUID, decide: Callable[[StoredRequest], Approval]) -> StoredRequest: ...

    def deliver(self, request_id: uuid.UUID, requester: str) -> Registration: ...

    def registered(self, pid: str) -> StoredRequest: ...

    def publish(self, pid: str, certificate: str, keys: SharingKeysPublication) -> None: ...

    def entry(self, pid: str) -> DirectoryEntry: ...


_SELECT = (
    "SELECT request_id, state, role, organisation, requester, requested_at, public_key, rid_encrypted, pid,"
    " sealed_rid, enrolment_secret FROM registrations"
)


def _stored(row: tuple[Any, ...]) -> StoredRequest:
    values = list(row)
    values[1], values[2] = RegistrationState(values[1]), Role(values[2])
    return StoredRequest(*values)


class PostgresRegistryStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, request: StoredRequest, rid_lookup: bytes) -> None:
        try:
            with self.database.transaction() as connection:
                connection.execute(
                    "INSERT INTO registrations (request_id, state, role, organisation, requester, requested_at,"
                    " public_key, rid_lookup, rid_encrypted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (request.request_id, request.state.value, request.role.value, request.organisation,
                     request.requester, request.requested_at, request.public_key, rid_lookup,
                     request.rid_encrypted),
                )  # fmt: skip
        except psycopg.errors.UniqueViolation:
            raise AlreadyRegistered from None

    def pending(self) -> list[RegistrationSummary]:
        with self.database.transaction() as connection:
            rows = connection.execute(
                sql.SQL(_SELECT + " WHERE state = 'pending' ORDER BY requested_at LIMIT 1000")
            ).fetchall()
        return [_stored(row).summary() for row in rows]

    def get(self, request_id: uuid.UUID) -> StoredRequest:
        with self.database.transaction() as connection:
            return self._get(connection, request_id, lock=False)

    @staticmethod
    def _get(connection: psycopg.Connection, request_id: uuid.UUID, *, lock: bool) -> StoredRequest:
        row = connection.execute(
            sql.SQL(_SELECT + " WHERE request_id = %s" + (" FOR UPDATE" if lock else "")),
            (request_id,),
        ).fetchone()
        if row is None:
            raise NotFound
        return _stored(row)

    def approve(self, request_id: uuid.UUID, decide: Callable[[StoredRequest], Approval]) -> StoredRequest:
        """Lock the request, let `decide` act on it (register at the CAs), and keep what it decided; when
        `decide` raises, nothing is kept."""
        with self.database.transaction() as connection:
            stored = self._get(connection, request_id, lock=True)
            approval = decide(stored)
            connection.execute(
                "UPDATE registrations SET state = 'approved', pid = %s, sealed_rid = %s, rid_encrypted = %s,"
                " enrolment_secret = %s, approved_by = %s, approved_at = now() WHERE request_id = %s",
                (approval.pid, approval.sealed_rid, approval.rid_encrypted, approval.enrolment_secret,
                 approval.approved_by, request_id),
            )  # fmt: skip
            return self._get(connection, request_id, lock=False)

    def deliver(self, request_id: uuid.UUID, requester: str) -> Registration:
        """The registration as its requester sees it; an enrolment secret is handed out once, then forgotten."""
        with self.database.transaction() as connection:
            stored = self._get(connection, request_id, lock=True)
            if stored.requester != requester:
                raise NotFound
            if stored.enrolment_secret:
                connection.execute(
                    "UPDATE registrations SET enrolment_secret = NULL WHERE request_id = %s", (request_id,)
                )
        return stored.registration(with_secret=True)

    def registered(self, pid: str) -> StoredRequest:
        with self.database.transaction() as connection:
            row = connection.execute(sql.SQL(_SELECT + " WHERE pid = %s"), (pid,)).fetchone()
        if row is None:
            raise NotFound
        return _stored(row)

    def publish(self, pid: str, certificate: str, keys: SharingKeysPublication) -> None:
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO directory (pid, certificate, public_key, verifying_key, signature)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (pid) DO UPDATE SET certificate = excluded.certificate,"
                " public_key = excluded.public_key, verifying_key = excluded.verifying_key,"
                " signature = excluded.signature, published_at = now()",
                (pid, certificate, keys.public_key, keys.verifying_key, keys.signature),
            )

    def entry(self, pid: str) -> DirectoryEntry:
        with self.database.transaction() as connection:
            row = connection.execute(
                "SELECT r.organisation, r.role, d.certificate, d.public_key, d.verifying_key, d.signature"
                " FROM directory d JOIN registrations r USING (pid) WHERE d.pid = %s",
                (pid,),
            ).fetchone()
        if row is None:
            raise NotFound
        organisation, role, certificate, public_key, verifying_key, signature = row
        keys = SharingKeysPublication(public_key=public_key, verifying_key=verifying_key, signature=signature)
        return DirectoryEntry(pid=pid, msp_id=organisation, role=Role(role), certificate=certificate, sharing_keys=keys)
