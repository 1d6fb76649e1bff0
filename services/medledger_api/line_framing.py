"""The two line framings of the collector's serial lines, as its framers (firmware/src/protocols/stuffed_frame.c,
delimited_frame.c) read them: byte-stuffed frames (Datex 7E ... 7E; IntelliVue and the uplink C0 ... C1) and
frames between a start byte and a terminator (MEDIBUS, HL7's MLLP). The instrument simulators and the
collector gateway both speak them."""

from __future__ import annotations

ESCAPE = 0x7D
ESCAPE_XOR = 0x20


def stuff(payload: bytes, start: int, end: int) -> bytes:
    """`payload` between its flags, every flag or escape byte in it sent as ESCAPE, byte ^ 0x20."""
    framed = bytearray([start])
    for byte in payload:
        framed += bytes([ESCAPE, byte ^ ESCAPE_XOR]) if byte in (start, end, ESCAPE) else bytes([byte])
    framed.append(end)
    return bytes(framed)


class Unstuffer:
    """Unescaped frames out of a stream in any pieces; garbage between frames is skipped, and a frame with an
    escape before its end flag, or longer than `limit`, dropped. With equal flags (Datex) the flag that ends a
    frame may open the next."""

    def __init__(self, start: int, end: int, limit: int | None = None) -> None:
        self._start, self._end = start, end
        self._limit = limit
        self._frame: bytearray | None = None
        self._escaped = False

    def feed(self, data: bytes) -> list[bytes]:
        frames = []
        for byte in data:
            if self._frame is not None and byte == self._end and (self._frame or self._start != self._end):
                if not self._escaped:
                    frames.append(bytes(self._frame))
                self._frame = bytearray() if self._start == self._end else None
                self._escaped = False
            elif byte == self._start:
                self._frame, self._escaped = bytearray(), False
            elif self._frame is None:
                continue
            elif byte == ESCAPE and not self._escaped:
                self._escaped = True
            else:
                self._frame.append(byte ^ ESCAPE_XOR if self._escaped else byte)
                self._escaped = False
                if self._limit is not None and len(self._frame) > self._limit:
                    self._frame = None
        return frames


class DelimitedReader:
    """Frames out of a stream in any pieces: each opens with one of `starts` (kept) and ends with `terminator`
    (dropped); a start byte inside a frame begins a new one, as its end was lost."""

    def __init__(self, starts: bytes, terminator: bytes) -> None:
        self._starts, self._terminator = starts, terminator
        self._frame: bytearray | None = None

    def feed(self, data: bytes) -> list[bytes]:
        frames = []
        for byte in data:
            if byte in self._starts:
                self._frame = bytearray([byte])
            elif self._frame is not None:
                self._frame.append(byte)
                if self._frame.endswith(self._terminator):
                    frames.append(bytes(self._frame[: -len(self._terminator)]))
                    self._frame = None
        return frames
