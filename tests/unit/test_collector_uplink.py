"""The gateway's reading of the collector's uplink (the firmware's side is tested in C and on QEMU)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from medledger_api import collector_uplink
from medledger_api.collector_uplink import RECORD, Unstuffer, UplinkError, parse_record, stuff

COLLECTOR = b"collector-or3-01"
KEY = bytes(range(1, 33))


def record_frame(key: bytes = KEY, collector: bytes = COLLECTOR, kind: bytes = b"R", version: int = 1) -> bytes:
    body = RECORD.pack(kind, version, collector, 7, 4, 150456, 262688, -42, -2, 1795838400)
    return body + hmac.new(key, body, hashlib.sha256).digest()[:16]


def test_an_authentic_record_is_read_field_by_field() -> None:
    record = parse_record(record_frame(), {COLLECTOR: KEY})
    assert (record.sequence, record.port, record.metric, record.unit) == (7, 4, 150456, 262688)
    assert (record.mantissa, record.exponent, record.device_time) == (-42, -2, 1795838400)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (record_frame(key=bytes(32)), "bad MAC"),
        (record_frame(collector=b"collector-or3-99"), "unknown collector"),
        (record_frame(kind=b"A"), "not a version 1 record"),
        (record_frame(version=2), "not a version 1 record"),
        (record_frame()[:-1], "a record is 56 bytes, not 55"),
    ],
)
def test_a_forged_foreign_or_broken_record_is_refused_with_its_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(UplinkError, match=reason):
        parse_record(frame, {COLLECTOR: KEY})


def test_frames_come_out_of_a_stream_split_anywhere_and_garbage_between_them_is_skipped() -> None:
    frame = record_frame()
    wire = b"\x55\xc1" + stuff(frame) + b"\x00" + stuff(frame)
    unstuffer = Unstuffer()
    frames = [found for byte in wire for found in unstuffer.feed(bytes([byte]))]
    assert frames == [frame, frame]


def test_an_acknowledgement_carries_the_sequence_under_the_collectors_key() -> None:
    (frame,) = Unstuffer().feed(collector_uplink.acknowledgement(COLLECTOR, KEY, 0xC0C1))
    body = frame[:22]
    assert body == b"A\x01" + COLLECTOR + bytes([0, 0, 0xC0, 0xC1])
    assert frame[22:] == hmac.new(KEY, body, hashlib.sha256).digest()[:16]
