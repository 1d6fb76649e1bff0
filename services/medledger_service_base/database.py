"""A service's PostgreSQL database: connections over TLS (the server verified by its organisation's TLS CA),
schema migrations as plain SQL files applied once each in order, and the nonces of accepted requests.

Migrations live in a package's `migrations/` folder as `NNNN_what.sql`. Each is applied in its own
transaction and recorded with its SHA-384 in `schema_migrations`; one that was applied and has changed since
stops the service (a migration is never edited, only followed by another). An advisory lock serialises two
processes starting at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field

_MIGRATION = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
# Any number, the same in every service: only migrations of one database contend for it.
_MIGRATION_LOCK = 7_150_001
BASE_PACKAGE = "medledger_service_base"


class DatabaseError(Exception):
    """The database cannot be used as it is (a migration changed after it was applied); one line."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    user: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    password_file: Path = Field(description="the role's password, 0600, the service user's")
    server_ca: Path = Field(description="PEM CA chain that issued the server's TLS certificate")
    # A request can hold its connection across a ledger commit (the sharing proxy's delivery: seconds), and
    # every signed request needs one for its nonce: at 8, five sharing flows a second starved the rest. Two
    # services of one host at 32 stay under PostgreSQL's 100 connections.
    pool_size: int = Field(default=32, ge=1, le=48, description="connections open at most")

    def connection_arguments(self) -> dict[str, Any]:
        """psycopg.connect's arguments; the password is read again for every new connection."""
        return {
            "host": self.host,
            "port": self.port,
            "dbname": self.name,
            "user": self.user,
            "password": self.password_file.read_text().strip(),
            "sslmode": "verify-full",
            "sslrootcert": str(self.server_ca),
            "connect_timeout": 10,
        }


@dataclass(frozen=True)
class Migration:
    version: str  # package/NNNN
    sql: str

    @property
    def digest(self) -> str:
        return hashlib.sha384(self.sql.encode()).hexdigest()


def migrations_of(package: str) -> list[Migration]:
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        matched = _MIGRATION.fullmatch(entry.name)
        if matched:
            found.append(Migration(f"{package}/{matched.group(1)}", entry.read_text()))
    return sorted(found, key=lambda migration: migration.version)


def migrate(connection: psycopg.Connection, packages: list[str]) -> list[str]:
    """Apply the migrations of `packages` (BASE_PACKAGE's first) not applied yet; returns their versions."""
    applied_now = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, sha384 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied: dict[str, str] = dict(connection.execute("SELECT version, sha384 FROM schema_migrations").fetchall())
        for package in [BASE_PACKAGE, *packages]:
            for migration in migrations_of(package):
                if migration.version in applied:
                    if applied[migration.version] != migration.digest:
                        raise DatabaseError(f"migration {migration.version} changed after it was applied")
                    continue
                connection.execute(migration.sql.encode())
                connection.execute(
                    "INSERT INTO schema_migrations (version, sha384) VALUES (%s, %s)",
                    (migration.version, migration.digest),
                )
                applied_now.append(migration.version)
    return applied_now


class Database:
    """A pool of connections for one service. Each new connection costs a TLS handshake and a SCRAM exchange
    (tens of milliseconds of the service's CPU), and every signed request touches the database: a connection
    per transaction, or one connection behind a lock, made the services' throughput the database's round trip.
    A connection is checked before it is handed out, so a restarted server costs one failed check, not a
    failed request."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self._pool = ConnectionPool(
            kwargs=settings.connection_arguments,
            min_size=1,
            max_size=settings.pool_size,
            check=ConnectionPool.check_connection,
            timeout=10,
            name=settings.name,
            open=True,
        )

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection whose work commits when the block ends and rolls back when it raises."""
        with self._pool.connection() as connection:
            yield connection

    def close(self) -> None:
        self._pool.close()


class PostgresNonces:
    """The NonceStore of a service: a nonce is kept per caller until its request's window has passed (then
    the timestamp check refuses the request anyway, and the row goes)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def remember(self, nonce: str, caller_fingerprint: str, expires_ms: int) -> bool:
        # One statement, one commit: the nonces whose window has passed go as this one is kept.
        with self.database.transaction() as connection:
            inserted = connection.execute(
                "WITH expired AS (DELETE FROM request_nonces WHERE expires_ms < extract(epoch FROM now()) * 1000)"
                " INSERT INTO request_nonces (caller_fingerprint, nonce, expires_ms) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (caller_fingerprint, nonce, expires_ms),
            ).rowcount
        return inserted == 1
