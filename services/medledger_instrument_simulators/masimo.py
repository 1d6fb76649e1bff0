"""Masimo Radical-7 / Rad-8 serial output "ASCII 1": output only, a line every second with the device's date and
time and KEY=VALUE fields ("--" where nothing is measured), ending in CR LF; no checksum."""

from __future__ import annotations

from datetime import datetime

from . import mdc
from .instrument import DeviceClock, Every, Reading, fixed
from .traces import SurgeryTrace

# Exceptions (EXC, hex bits): none, the sensor on and reading.
NO_EXCEPTIONS = 0x000000


class Masimo:
    def __init__(self, trace: SurgeryTrace, start: datetime, serial_number: str = "0000056661") -> None:
        self._trace = trace
        self._clock = DeviceClock(start)
        self._serial_number = serial_number
        self._lines = Every(1.0)
        self.readings: list[Reading] = []

    def receive(self, data: bytes, now: float) -> bytes:
        return b""  # an output-only port

    def tick(self, now: float) -> bytes:
        return self._line(now) if self._lines.due(now) else b""

    def _line(self, now: float) -> bytes:
        vitals = self._trace.at(now)
        when = self._clock.at(now)
        spo2, pulse, perfusion = round(vitals.spo2), round(vitals.pulse_rate), fixed(vitals.perfusion_index, 2)
        time = int(when.timestamp())
        self.readings += [
            Reading(mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, spo2, 0, time),
            Reading(mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, pulse, 0, time),
            Reading(mdc.PULS_OXIM_PERF_REL, mdc.DIM_PERCENT, perfusion, -2, time),
        ]
        whole, hundredths = divmod(perfusion, 100)
        return (
            f"{when:%m/%d/%y %H:%M:%S} SN={self._serial_number} SPO2={spo2:03d}% BPM={pulse:03d} "
            f"PI={whole:02d}.{hundredths:02d}% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- "
            f"ALARM=0000 EXC={NO_EXCEPTIONS:06X}\r\n"
        ).encode("ascii")
