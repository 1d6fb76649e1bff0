"""The collector's uplink, as the gateway reads and writes it: the format firmware/src/core/uplink.h defines.

Frames are C0 ... C1 with 7D escapes; inside, big-endian: type, version 2, the collector's id, the fields,
then HMAC-SHA-256 with the collector's own key truncated to 128 bits. The collector sends hellos (the session
it is in) and records (one reading with its session and sequence); the gateway answers with sessions (the
session a hello named, the one granted) and acknowledgements (the highest sequence of a session it stored).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from medledger_api import line_framing

BOF, EOF = 0xC0, 0xC1
VERSION = 2
ID_BYTES, KEY_BYTES, MAC_BYTES = 16, 32, 16
HEADER = struct.Struct(">cB16s")
HELLO = struct.Struct(">cB16sI")
RECORD = struct.Struct(">cB16sIIBIIibI")
FROM_GATEWAY = struct.Struct(">cB16sII")
_FROM_COLLECTOR = {b"H": ("hello", HELLO), b"R": ("record", RECORD)}


class UplinkError(ValueError):
    """A frame that is not a well-formed, authentic frame of the collector it names."""


@dataclass(frozen=True)
class Hello:
    collector: bytes
    session: int  # the session the collector is in; 0 after a boot


@dataclass(frozen=True)
class Record:
    collector: bytes
    session: int
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
    return line_framing.stuff(payload, BOF, EOF)


def unstuffer() -> line_framing.Unstuffer:
    """Frames out of the uplink's byte stream; none longer than twice the longest frame is kept."""
    return line_framing.Unstuffer(BOF, EOF, limit=2 * (RECORD.size + MAC_BYTES))


def parse(frame: bytes, keys: dict[bytes, bytes]) -> Hello | Record:
    """The hello or record in an unstuffed frame, its MAC checked with the key of the collector it names."""
    if len(frame) < HEADER.size:
        raise UplinkError(f"a frame of {len(frame)} bytes is too short for a header")
    kind, version, collector = HEADER.unpack_from(frame)
    key = keys.get(collector)
    if key is None:
        raise UplinkError(f"unknown collector {collector!r}")
    if kind not in _FROM_COLLECTOR:
        raise UplinkError(f"a frame of type {kind!r} does not come from a collector")
    name, layout = _FROM_COLLECTOR[kind]
    if len(frame) != layout.size + MAC_BYTES:
        raise UplinkError(f"a {name} is {layout.size + MAC_BYTES} bytes, not {len(frame)}")
    if not hmac.compare_digest(_mac(key, frame[: layout.size]), frame[layout.size :]):
        raise UplinkError(f"bad MAC on a frame of {collector!r}")
    if version != VERSION:
        raise UplinkError(f"version {version}, not {VERSION}")
    if kind == b"H":
        return Hello(collector, HELLO.unpack_from(frame)[3])
    return Record(collector, *RECORD.unpack_from(frame)[3:])


def _from_gateway(kind: bytes, collector: bytes, key: bytes, first: int, second: int) -> bytes:
    body = FROM_GATEWAY.pack(kind, VERSION, collector, first, second)
    return stuff(body + _mac(key, body))


def acknowledgement(collector: bytes, key: bytes, session: int, sequence: int) -> bytes:
    """The stuffed frame telling `collector` that every record of `session` up to `sequence` is stored."""
    return _from_gateway(b"A", collector, key, session, sequence)


def session_grant(collector: bytes, key: bytes, named: int, granted: int) -> bytes:
    """The stuffed frame answering `collector`'s hello that named session `named`: use `granted` from now."""
    return _from_gateway(b"S", collector, key, named, granted)
