"""The gateway's rules: what it answers each frame from a collector, and what it refuses (logged, with why).

- A hello naming session 0 (the collector booted) gets a new session beginning a new chain; a hello naming
  the collector's current session gets that session again; one naming an older session of its own gets a new
  session continuing that session's chain (the gateway moved on without the collector: a replayed hello); one
  naming a session this gateway never granted (its store was lost, or the collector moved here) gets a new
  chain that starts where the collector's first record says, so that the collector's held readings are taken.
- A record of the collector's current session is stored if it is the next of its chain and acknowledged;
  one already stored is acknowledged again (its acknowledgement was lost); one past the next is refused (a
  record in between was lost; the collector sends again from there).
- Anything else is refused: a bad MAC, an unknown collector, a record of another session.
"""

from __future__ import annotations

import logging

from . import uplink
from .store import Store
from .uplink import Hello, Record, UplinkError

log = logging.getLogger("medledger.collector_gateway")


class Refused(Exception):
    """A frame the gateway does not act on; the message says why."""


class Gateway:
    def __init__(self, store: Store, keys: dict[bytes, bytes]) -> None:
        self._store = store
        self._keys = keys

    def receive(self, frame: bytes) -> bytes | None:
        """The stuffed answer to an unstuffed frame, or None when a refused frame gets none."""
        try:
            message = uplink.parse(frame, self._keys)
            if isinstance(message, Hello):
                return self._hello(message)
            return self._record(message)
        except (UplinkError, Refused) as refused:
            log.warning("refused: %s", refused)
            return None

    def _hello(self, hello: Hello) -> bytes:
        key = self._keys[hello.collector]
        current = self._store.current(hello.collector)
        if hello.session == 0:
            granted = self._store.grant(hello.collector, continuing=None)
        elif current is not None and hello.session == current.session:
            granted = current
        else:
            named = self._store.session(hello.collector, hello.session)
            if named is None:
                log.warning(
                    "collector %r names session %d, which this gateway never granted: a new chain from its next record",
                    hello.collector,
                    hello.session,
                )
            granted = self._store.grant(hello.collector, continuing=named, resuming=named is None)
        log.info("collector %r: session %d (chain %d)", hello.collector, granted.session, granted.chain)
        return uplink.session_grant(hello.collector, key, hello.session, granted.session)

    def _record(self, record: Record) -> bytes:
        current = self._store.current(record.collector)
        if current is None or record.session != current.session:
            now = current.session if current else None
            raise Refused(f"record {record.sequence} of {record.collector!r} in session {record.session}, not {now}")
        stored = record.sequence - 1 if current.last_sequence is None else current.last_sequence
        if record.sequence > stored + 1:
            raise Refused(
                f"record {record.sequence} of {record.collector!r} session {record.session} out of order:"
                f" the next is {stored + 1}"
            )
        if record.sequence == stored + 1:
            self._store.keep(record, current.chain)
            stored = record.sequence
        return uplink.acknowledgement(record.collector, self._keys[record.collector], record.session, stored)
