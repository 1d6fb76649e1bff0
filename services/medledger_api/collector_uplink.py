"""The collector's uplink, as the gateway reads it: the format firmware/src/core/uplink.h defines.

Frames are C0 ... C1 with 7D escapes; inside, big-endian and authenticated by HMAC-SHA-256 with the
collector's own key, truncated to 128 bits. A record (collector to gateway) carries one reading and its
sequence number; an acknowledgement (gateway to collector) the highest sequence the gateway has stored, every
one before it included.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

BOF, EOF, ESCAPE = 0xC0, 0xC1, 0x7D
VERSION = 1
ID_BYTES, KEY_BYTES, MAC_BYTES = 16, 32, 16
RECORD = struct.Struct(">cB16sIBIIibI")
ACKNOWLEDGEMENT = struct.Struct(">cB16sI")


class UplinkError(ValueError):
    """A frame that is not a well-formed, authentic record of the collector it names."""


@dataclass(frozen=True)
class Record:
    collector: bytes
    sequence: int
    port: int
    metric: int  # an ISO/IEEE 11073-10101 code
    unit: int
    mantissa: int
    exponent: int
    device_time: int  # seconds since 1970 UTC, 0 if the instrument sends no clock


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def stuff(payload: bytes) -> bytes:
    escaped = bytearray([BOF])
    for byte in payload:
        escaped += bytes([ESCAPE, byte ^ 0x20]) if byte in (BOF, EOF, ESCAPE) else bytes([byte])
    escaped.append(EOF)
    return bytes(escaped)


class Unstuffer:
    """Frames out of a byte stream, as the collector's framer reads them; garbage between frames is skipped
    and a frame with a broken escape dropped."""

    def __init__(self, limit: int = 4 * RECORD.size) -> None:
        self._frame: bytearray | None = None
        self._escaped = False
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        frames = []
        for byte in data:
            if byte == BOF:
                self._frame, self._escaped = bytearray(), False
            elif self._frame is None:
                continue
            elif byte == EOF:
                if not self._escaped and len(self._frame) <= self._limit:
                    frames.append(bytes(self._frame))
                self._frame = None
            elif byte == ESCAPE and not self._escaped:
                self._escaped = True
            else:
                self._frame.append(byte ^ 0x20 if self._escaped else byte)
                self._escaped = False
        return frames


def parse_record(frame: bytes, keys: dict[bytes, bytes]) -> Record:
    """The record in an unstuffed frame, its MAC checked with the key of the collector it names."""
    if len(frame) != RECORD.size + MAC_BYTES:
        raise UplinkError(f"a record is {RECORD.size + MAC_BYTES} bytes, not {len(frame)}")
    kind, version, collector, sequence, port, metric, unit, mantissa, exponent, device_time = RECORD.unpack(
        frame[: RECORD.size]
    )
    if kind != b"R" or version != VERSION:
        raise UplinkError(f"not a version {VERSION} record")
    key = keys.get(collector)
    if key is None:
        raise UplinkError(f"unknown collector {collector!r}")
    if not hmac.compare_digest(_mac(key, frame[: RECORD.size]), frame[RECORD.size :]):
        raise UplinkError(f"bad MAC on a record of {collector!r}")
    return Record(collector, sequence, port, metric, unit, mantissa, exponent, device_time)


def acknowledgement(collector: bytes, key: bytes, sequence: int) -> bytes:
    """The stuffed frame telling `collector` that every record up to `sequence` is stored."""
    body = ACKNOWLEDGEMENT.pack(b"A", VERSION, collector, sequence)
    return stuff(body + _mac(key, body))
