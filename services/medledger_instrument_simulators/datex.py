"""GE Datex-Ohmeda S/5 Computer Interface (AS3): silent until asked, then a displayed-values record of the
basic physiological class every interval the collector asked for.

A frame is 7E | record | 8-bit sum | 7E, 7E and 7D inside escaped. A record is a 40-byte little-endian header
(length, number, DRI level, plug ID, time, main type, 8 subrecord descriptors {offset i16, type u8}, type FF
ending them) and its subrecords. The offsets inside the displayed-values subrecord are the collector's
(firmware/src/protocols/datex.c), from the public S/5 interface declarations."""

from __future__ import annotations

import struct
from datetime import datetime

from medledger_api.line_framing import Unstuffer, stuff

from . import mdc
from .instrument import DeviceClock, Every, Reading, fixed
from .traces import SurgeryTrace

FLAG = 0x7E
HEADER = struct.Struct("<hBBHIBBHh")
DESCRIPTOR = struct.Struct("<hB")
HEADER_BYTES = HEADER.size + 8 * DESCRIPTOR.size
REQUEST = struct.Struct("<BhIh")
MAINTYPE_PHDB = 0
SUBRECORD_REQUEST = 0
SUBRECORD_DISPLAYED = 1
SUBRECORD_END = 0xFF
PHDB_BYTES = 270
INTERVAL_ONCE = -1
# Ambient pressure in 0.1 mmHg: the monitor reports end-tidal CO2 as a fraction of it.
AMBIENT_PRESSURE = 7600

# Offsets in the displayed-values subrecord: its time, then the basic class's groups.
PHDB_TIME = 0
PHDB_ECG_HR = 10
PHDB_NIBP_SYS = 82
PHDB_NIBP_DIA = 84
PHDB_NIBP_MEAN = 86
PHDB_T1 = 96
PHDB_SPO2 = 128
PHDB_SPO2_PULSE_RATE = 130
PHDB_CO2_ET = 142
PHDB_CO2_RR = 146
PHDB_CO2_AMBIENT_PRESSURE = 148


def checksum(record: bytes) -> int:
    return sum(record) & 0xFF


def frame(record: bytes) -> bytes:
    return stuff(record + bytes([checksum(record)]), FLAG, FLAG)


class Datex:
    def __init__(self, trace: SurgeryTrace, start: datetime) -> None:
        self._trace = trace
        self._clock = DeviceClock(start)
        self._unstuffer = Unstuffer(FLAG, FLAG)
        self._records: Every | None = None
        self._record_number = 0
        self.readings: list[Reading] = []
        # The transmission intervals the collector asked for, in order.
        self.requests: list[int] = []

    def receive(self, data: bytes, now: float) -> bytes:
        answer = b""
        for request in self._unstuffer.feed(data):
            interval = self._requested_interval(request)
            if interval is None:
                continue
            self.requests.append(interval)
            if interval == INTERVAL_ONCE:
                answer += self._record(now)
            # A new request starts its interval now, with a record at once; 0 stops the records.
            self._records = Every(interval, first=now) if interval > 0 else None
        return answer + self.tick(now)

    def tick(self, now: float) -> bytes:
        return self._record(now) if self._records is not None and self._records.due(now) else b""

    @staticmethod
    def _requested_interval(request: bytes) -> int | None:
        """The interval of a well-formed request for displayed values, else None."""
        if len(request) < HEADER_BYTES + REQUEST.size + 1 or checksum(request[:-1]) != request[-1]:
            return None
        record = request[:-1]
        length, *_, maintype = HEADER.unpack_from(record)
        offset, subrecord = DESCRIPTOR.unpack_from(record, HEADER.size)
        if length != len(record) or maintype != MAINTYPE_PHDB or subrecord != SUBRECORD_REQUEST:
            return None
        if HEADER_BYTES + offset + REQUEST.size > len(record):
            return None
        record_type, interval, _classes, _ = REQUEST.unpack_from(record, HEADER_BYTES + offset)
        return interval if record_type == SUBRECORD_DISPLAYED else None

    def _record(self, now: float) -> bytes:
        vitals = self._trace.at(now)
        time = self._clock.unix(now)
        # The monitor shows SpO2 and pressures in whole units, the temperature in hundredths.
        values = {
            PHDB_ECG_HR: (mdc.ECG_HEART_RATE, mdc.DIM_BEAT_PER_MIN, round(vitals.heart_rate), 0),
            PHDB_NIBP_SYS: (mdc.PRESS_BLD_NONINV_SYS, mdc.DIM_MMHG, 100 * vitals.cuff.systolic, -2),
            PHDB_NIBP_DIA: (mdc.PRESS_BLD_NONINV_DIA, mdc.DIM_MMHG, 100 * vitals.cuff.diastolic, -2),
            PHDB_NIBP_MEAN: (mdc.PRESS_BLD_NONINV_MEAN, mdc.DIM_MMHG, 100 * vitals.cuff.mean, -2),
            PHDB_T1: (mdc.TEMP_BODY, mdc.DIM_DEGC, fixed(vitals.temperature, 2), -2),
            PHDB_SPO2: (mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, 100 * round(vitals.spo2), -2),
            PHDB_SPO2_PULSE_RATE: (mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, round(vitals.pulse_rate), 0),
            PHDB_CO2_RR: (mdc.RESP_RATE, mdc.DIM_RESP_PER_MIN, round(vitals.respiration_rate), 0),
        }
        # End-tidal CO2 in 0.01 % of the ambient pressure; the collector multiplies them back into mmHg.
        et_co2 = round(vitals.et_co2 / (AMBIENT_PRESSURE / 10) * 10000)
        phdb = bytearray(PHDB_BYTES)
        struct.pack_into("<I", phdb, PHDB_TIME, time)
        for offset, (_, _, value, _) in values.items():
            struct.pack_into("<h", phdb, offset, value)
        struct.pack_into("<h", phdb, PHDB_CO2_ET, et_co2)
        struct.pack_into("<h", phdb, PHDB_CO2_AMBIENT_PRESSURE, AMBIENT_PRESSURE)
        descriptors = [(0, SUBRECORD_DISPLAYED), (0, SUBRECORD_END)] + [(0, 0)] * 6
        header = HEADER.pack(HEADER_BYTES + PHDB_BYTES, self._record_number, 0, 0, time, 0, 0, 0, MAINTYPE_PHDB)
        header += b"".join(DESCRIPTOR.pack(*descriptor) for descriptor in descriptors)
        self._record_number = (self._record_number + 1) & 0xFF
        # In the collector's order: the subrecord's values, then the end-tidal CO2.
        self.readings += [
            Reading(metric, unit, value, exponent, time) for metric, unit, value, exponent in values.values()
        ]
        self.readings.append(Reading(mdc.AWAY_CO2_ET, mdc.DIM_MMHG, et_co2 * AMBIENT_PRESSURE, -5, time))
        return frame(header + bytes(phdb))
