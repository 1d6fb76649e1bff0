"""A surgery's surgical health record (SHR): every reading a collector took during it, as the data client
seals it beside the patient's EMR (`medledger record seal --emr F --shr F`).

A reading belongs to the surgery when the gateway received it between the surgery's start and end: readings
held back by an uplink outage arrive late but still inside a surgery that outlasts the outage, and the store
refuses gaps, so the record's sequences run without a hole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .store import Store, StoredReading

KIND = "medledger.surgical-health-record"


def _reading(stored: StoredReading) -> dict[str, Any]:
    device_time = datetime.fromtimestamp(stored.device_time, UTC).isoformat() if stored.device_time else None
    return {
        "chain": stored.chain,
        "sequence": stored.sequence,
        "port": stored.port,
        "metric": stored.metric,
        "unit": stored.unit,
        "value": str(Decimal(stored.mantissa).scaleb(stored.exponent)),
        "device_time": device_time,
        "received_at": stored.received_at,
    }


def surgical_health_record(store: Store, collector: bytes, start: datetime, end: datetime) -> bytes:
    """The SHR document (UTF-8 JSON) of what `collector` sent from `start` to `end`."""
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise ValueError("a surgery's start and end are aware datetimes, the end not before the start")
    window = [moment.astimezone(UTC).isoformat(timespec="milliseconds") for moment in (start, end)]
    readings = store.readings(collector, *window)
    document = {
        "kind": KIND,
        "version": 1,
        "collector": collector.decode(),
        "start": window[0],
        "end": window[1],
        "readings": [_reading(stored) for stored in readings],
    }
    return json.dumps(document, indent=1, sort_keys=True).encode()
