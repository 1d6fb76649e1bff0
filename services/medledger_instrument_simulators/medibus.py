"""Draeger MEDIBUS (ASCII), the device's side: it answers once initialised (ICC), replies to "current measured
data, code page 1" with its ventilation and gas values, sends a command of its own (NOP) every few seconds to
keep the link alive, and drops the link when the collector is silent for more than 3 s.

A command is ESC cmd [data] CS CS CR, a reply SOH cmd [data] CS CS CR; CS CS is the low byte of the sum of every
byte before it, as two upper-case hex digits. A data reply carries records of a 2-hex-digit code and a
4-character value."""

from __future__ import annotations

from medledger_api.line_framing import DelimitedReader

from . import mdc
from .instrument import Reading, decimal_text, fixed
from .traces import SurgeryTrace

ESC, SOH, CR = 0x1B, 0x01, 0x0D
ICC = 0x51
NOP = 0x30
CURRENT_DATA_CP1 = 0x24
LINK_TIMEOUT_SECONDS = 3.0
# Each side sends a command at least this often: well inside the link timeout.
KEEPALIVE_SECONDS = 2.0


def frame(lead: int, command: int, data: bytes = b"") -> bytes:
    """A command (`lead` ESC) or reply (SOH) with its checksum and CR."""
    return bytes([lead, command]) + data + b"%02X\r" % ((lead + command + sum(data)) & 0xFF)


def checked(received: bytes) -> bool:
    """Whether a frame as read (lead, command, data, checksum; no CR) carries the right checksum."""
    digits = received[-2:]
    if len(received) < 4 or any(digit not in b"0123456789ABCDEF" for digit in digits):
        return False
    return int(digits, 16) == sum(received[:-2]) & 0xFF


class Medibus:
    def __init__(self, trace: SurgeryTrace) -> None:
        self._trace = trace
        self._reader = DelimitedReader(bytes([ESC, SOH]), bytes([CR]))
        self._initialised = False
        self._heard_at = 0.0
        self._commanded_at = 0.0
        self._own_command: int | None = None
        self.readings: list[Reading] = []
        # The collector's commands this device answered, in order.
        self.commands: list[int] = []
        self.own_commands_answered = 0
        self.own_commands_unanswered = 0

    def receive(self, data: bytes, now: float) -> bytes:
        self._drop_link_if_silent(now)
        answer = b""
        for received in self._reader.feed(data):
            if not checked(received):
                continue
            self._heard_at = now
            lead, command = received[0], received[1]
            if lead == SOH:
                if command == self._own_command:
                    self.own_commands_answered += 1
                    self._own_command = None
                continue
            if command == ICC:
                self._initialised = True
            elif not self._initialised:
                continue  # until initialised the device ignores commands
            self.commands.append(command)
            answer += frame(SOH, command, self._current_data(now) if command == CURRENT_DATA_CP1 else b"")
        return answer

    def tick(self, now: float) -> bytes:
        self._drop_link_if_silent(now)
        if not self._initialised or now - self._commanded_at < KEEPALIVE_SECONDS:
            return b""
        if self._own_command is not None:
            self.own_commands_unanswered += 1
        self._own_command = NOP
        self._commanded_at = now
        return frame(ESC, NOP)

    def _drop_link_if_silent(self, now: float) -> None:
        if self._initialised and now - self._heard_at > LINK_TIMEOUT_SECONDS:
            self._initialised = False

    def _current_data(self, now: float) -> bytes:
        vitals = self._trace.at(now)
        # code, metric, unit, value in units of 10^-decimals, decimals: PIP and PEEP in mbar (hPa).
        values = [
            (0x7D, mdc.PRESS_AWAY_INSP_PEAK, mdc.DIM_HECTO_PASCAL, round(vitals.peak_airway_pressure), 0),
            (0x78, mdc.PRESS_AWAY_END_EXP_POS, mdc.DIM_HECTO_PASCAL, fixed(vitals.peep, 1), 1),
            (0x88, mdc.VOL_AWAY_TIDAL, mdc.DIM_MILLI_L, round(vitals.tidal_volume), 0),
            (0xEB, mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, round(vitals.spo2), 0),
            (0xE6, mdc.AWAY_CO2_ET, mdc.DIM_MMHG, round(vitals.et_co2), 0),
        ]
        records = b""
        for code, metric, unit, mantissa, decimals in values:
            records += b"%02X%4s" % (code, decimal_text(mantissa, decimals).encode("ascii"))
            self.readings.append(Reading(metric, unit, mantissa, -decimals, 0))
        return records
