"""What every simulated instrument is: pure (bytes and a time in, bytes out; no sockets, no clock), keeping the
readings the collector should forward from what it sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol


class Reading(NamedTuple):
    """A reading as the collector's parser produces it (firmware/src/core/reading.h): value = mantissa x
    10^exponent; device_time is the instrument's clock in seconds since 1970 UTC, 0 where it sends none."""

    metric: int
    unit: int
    mantissa: int
    exponent: int
    device_time: int


class Instrument(Protocol):
    """`now` is always seconds since the surgery (the simulation) began."""

    @property
    def readings(self) -> list[Reading]:
        """Every reading the collector should have taken from what this instrument sent, in order."""
        ...

    def receive(self, data: bytes, now: float) -> bytes:
        """Bytes the collector sent, in any pieces; returns the instrument's answer."""
        ...

    def tick(self, now: float) -> bytes:
        """What the instrument sends on its own by `now`."""
        ...


class DeviceClock:
    """An instrument's own clock: it reads `start` (UTC) when the surgery begins, and whole seconds."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("an instrument's clock starts at an aware (UTC) datetime")
        self._start = start.astimezone(UTC)

    def at(self, now: float) -> datetime:
        return (self._start + timedelta(seconds=now)).replace(microsecond=0)

    def unix(self, now: float) -> int:
        return int(self.at(now).timestamp())


def fixed(value: float, decimals: int) -> int:
    """`value` in units of 10^-decimals: the mantissa an instrument showing that many decimals sends."""
    return round(value * 10.0**decimals)


def decimal_text(mantissa: int, decimals: int) -> str:
    """The text of mantissa x 10^-decimals, as the collector's decimal parsers read it back exactly."""
    if decimals == 0:
        return str(mantissa)
    sign = "-" if mantissa < 0 else ""
    whole, fraction = divmod(abs(mantissa), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


class Every:
    """A periodic transmission: due at `first`, then every `period`. After a stall it goes on from the present,
    as an instrument sends its current values, not the ones it missed."""

    def __init__(self, period: float, first: float = 0.0) -> None:
        self._period = period
        self._next = first

    def due(self, now: float) -> bool:
        if now < self._next:
            return False
        self._next += self._period
        if self._next <= now:
            self._next = now + self._period
        return True
