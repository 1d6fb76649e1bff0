"""The gateway's reading and writing of the collector's uplink frames (the firmware's side is tested in C and
on QEMU)."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest

from medledger_collector_gateway import uplink
from medledger_collector_gateway.uplink import Hello, Record, UplinkError, parse, stuff, unstuffer

COLLECTOR = b"collector-or3-01"
KEY = bytes(range(1, 33))


def sealed(body: bytes, key: bytes = KEY) -> bytes:
    return body + hmac.new(key, body, hashlib.sha256).digest()[:16]


def record_frame(key: bytes = KEY, collector: bytes = COLLECTOR, kind: bytes = b"R", version: int = 2) -> bytes:
    body = struct.pack(">cB16sIIBIIibI", kind, version, collector, 3, 7, 4, 150456, 262688, -42, -2, 1795838400)
    return sealed(body, key)


def test_an_authentic_record_is_read_field_by_field() -> None:
    assert parse(record_frame(), {COLLECTOR: KEY}) == Record(COLLECTOR, 3, 7, 4, 150456, 262688, -42, -2, 1795838400)


def test_an_authentic_hello_gives_the_session_it_names() -> None:
    frame = sealed(struct.pack(">cB16sI", b"H", 2, COLLECTOR, 0xC0C1C2C3))
    assert parse(frame, {COLLECTOR: KEY}) == Hello(COLLECTOR, 0xC0C1C2C3)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (record_frame(key=bytes(32)), "bad MAC"),
        (record_frame(collector=b"collector-or3-99"), "unknown collector"),
        (record_frame(kind=b"A"), "type b'A' does not come from a collector"),
        (record_frame(kind=b"H"), "a hello is 38 bytes, not 60"),
        (record_frame(version=1), "version 1, not 2"),
        (record_frame()[:-1], "a record is 60 bytes, not 59"),
        (b"R\x02", "too short for a header"),
    ],
    ids=["forged", "foreign", "acknowledgement", "hello-sized", "version", "truncated", "header"],
)
def test_a_forged_foreign_or_broken_frame_is_refused_with_its_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(UplinkError, match=reason):
        parse(frame, {COLLECTOR: KEY})


def test_frames_come_out_of_a_stream_split_anywhere_and_garbage_between_them_is_skipped() -> None:
    frame = record_frame()
    wire = b"\x55\xc1" + stuff(frame) + b"\x00" + stuff(frame)
    frames_of = unstuffer()
    frames = [found for byte in wire for found in frames_of.feed(bytes([byte]))]
    assert frames == [frame, frame]


def test_a_frame_longer_than_any_the_collector_sends_is_dropped_and_the_next_one_read() -> None:
    frame = record_frame()
    assert unstuffer().feed(stuff(b"\x00" * 121) + stuff(frame)) == [frame]


@pytest.mark.parametrize(
    ("built", "kind"),
    [
        (uplink.acknowledgement(COLLECTOR, KEY, 0x7D, 0xC0C1), b"A"),
        (uplink.session_grant(COLLECTOR, KEY, 0x7D, 0xC0C1), b"S"),
    ],
)
def test_the_gateways_frames_carry_two_numbers_under_the_collectors_key(built: bytes, kind: bytes) -> None:
    (frame,) = unstuffer().feed(built)
    body = frame[:26]
    assert body == kind + b"\x02" + COLLECTOR + bytes([0, 0, 0, 0x7D, 0, 0, 0xC0, 0xC1])
    assert frame[26:] == hmac.new(KEY, body, hashlib.sha256).digest()[:16]
