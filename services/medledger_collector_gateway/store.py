"""What the gateway keeps, in one SQLite file: each collector's sessions and every reading it stored.

A session belongs to a chain: the session a collector was granted after a boot begins one, and a session
granted to a collector that named a session of its own continues that one's chain (the collector's ring and
its sequence numbers survived). A collector naming a session this store never granted (the store was lost, or
the collector moved here) begins a chain whose first record says where its sequences stand. Sequences are
unique within a chain, so a reading is stored once, however often it is sent. Each reading and its session's
new highest sequence are written in one transaction, before the gateway acknowledges it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .uplink import Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    collector BLOB NOT NULL,
    session INTEGER NOT NULL,
    chain INTEGER NOT NULL,
    last_sequence INTEGER,  -- NULL: not known until the chain's first record
    granted_at TEXT NOT NULL,
    PRIMARY KEY (collector, session)
);
CREATE TABLE IF NOT EXISTS readings (
    collector BLOB NOT NULL,
    chain INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    port INTEGER NOT NULL,
    metric INTEGER NOT NULL,
    unit INTEGER NOT NULL,
    mantissa INTEGER NOT NULL,
    exponent INTEGER NOT NULL,
    device_time INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (collector, chain, sequence)
);
"""


@dataclass(frozen=True)
class Session:
    session: int
    chain: int
    last_sequence: int | None


@dataclass(frozen=True)
class CollectorStatus:
    """What the store holds of one collector: for its operators and the playbook's check that records arrive."""

    sessions: int
    readings: int
    last_received: str | None


@dataclass(frozen=True)
class StoredReading:
    chain: int
    sequence: int
    port: int
    metric: int
    unit: int
    mantissa: int
    exponent: int
    device_time: int
    received_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    def __init__(self, path: Path | str) -> None:
        # One thread serves the uplink; autocommit off, each change is its own `with` transaction.
        self._db = sqlite3.connect(path, isolation_level="IMMEDIATE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._db:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def session(self, collector: bytes, session: int) -> Session | None:
        row = self._db.execute(
            "SELECT session, chain, last_sequence FROM sessions WHERE collector = ? AND session = ?",
            (collector, session),
        ).fetchone()
        return Session(*row) if row else None

    def current(self, collector: bytes) -> Session | None:
        row = self._db.execute(
            "SELECT session, chain, last_sequence FROM sessions WHERE collector = ? ORDER BY session DESC LIMIT 1",
            (collector,),
        ).fetchone()
        return Session(*row) if row else None

    def grant(self, collector: bytes, continuing: Session | None, *, resuming: bool = False) -> Session:
        """A new session, the collector's highest yet: continuing `continuing`'s chain, or a new chain, from
        sequence 1 or, `resuming` a chain this store does not know, from the sequence of its first record."""
        with self._db:
            (highest,) = self._db.execute(
                "SELECT COALESCE(MAX(session), 0) FROM sessions WHERE collector = ?", (collector,)
            ).fetchone()
            granted = highest + 1
            if continuing:
                chain, last = continuing.chain, continuing.last_sequence
            else:
                chain, last = granted, None if resuming else 0
            self._db.execute(
                "INSERT INTO sessions (collector, session, chain, last_sequence, granted_at) VALUES (?, ?, ?, ?, ?)",
                (collector, granted, chain, last, _now()),
            )
        return Session(granted, chain, last)

    def keep(self, record: Record, chain: int) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.collector,
                    chain,
                    record.sequence,
                    record.port,
                    record.metric,
                    record.unit,
                    record.mantissa,
                    record.exponent,
                    record.device_time,
                    _now(),
                ),
            )
            self._db.execute(
                "UPDATE sessions SET last_sequence = ? WHERE collector = ? AND session = ?",
                (record.sequence, record.collector, record.session),
            )

    def readings(
        self, collector: bytes, received_from: str | None = None, received_to: str | None = None
    ) -> list[StoredReading]:
        """The collector's readings received in [from, to] (ISO 8601 UTC; every one without them), in the order
        the collector took them."""
        rows = self._db.execute(
            "SELECT chain, sequence, port, metric, unit, mantissa, exponent, device_time, received_at FROM readings"
            " WHERE collector = ? AND (? IS NULL OR received_at >= ?) AND (? IS NULL OR received_at <= ?)"
            " ORDER BY chain, sequence",
            (collector, received_from, received_from, received_to, received_to),
        )
        return [StoredReading(*row) for row in rows]

    def status(self) -> dict[bytes, CollectorStatus]:
        """Each collector this store granted a session: its sessions, its readings and when the last arrived."""
        rows = self._db.execute(
            "SELECT s.collector, COUNT(*), (SELECT COUNT(*) FROM readings r WHERE r.collector = s.collector),"
            " (SELECT MAX(received_at) FROM readings r WHERE r.collector = s.collector)"
            " FROM sessions s GROUP BY s.collector ORDER BY s.collector"
        )
        return {collector: CollectorStatus(sessions, readings, last) for collector, sessions, readings, last in rows}
