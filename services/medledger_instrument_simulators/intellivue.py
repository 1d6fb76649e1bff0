"""Philips IntelliVue MIB/RS232 ("Data Export"): the monitor accepts an association request (a connect SPDU), sends
its MDS Create event report and, once the collector has confirmed that event, answers each "poll MDIB data"
request for numerics with a poll reply carrying the monitor's numerics, plain and (NIBP) compound, stamped with
its BCD clock. A poll before that gets no answer.

A frame is C0 | 11 01 len_hi len_lo | data | FCS_lo FCS_hi | C1, 7D, C0 and C1 inside escaped; the FCS is
CRC-16/X-25 over header and data. The data is a big-endian remote-operation PDU (IEC/ISO 11073-20101 as the
Data Export guide uses it), laid out as the collector reads it (firmware/src/protocols/intellivue.c).

The acceptance is an accept SPDU carrying the session data and the monitor's MDSE user information (a server)
with the presentation layer left out: the collector reads only the SPDU's type. The event report names the MDS
object with no attributes: the collector repeats its invoke ID and object, and reads nothing else of it."""

from __future__ import annotations

import struct
from datetime import datetime

from medledger_api.line_framing import Unstuffer, stuff

from . import mdc
from .instrument import DeviceClock, Reading, fixed
from .traces import SurgeryTrace, Vitals

BOF, EOF = 0xC0, 0xC1
FRAME_HEADER = struct.Struct(">BBH")
SESSION_DATA = 0xE100
PRESENTATION_CONTEXT = 0x0002
ROIV_APDU = 1
RORS_APDU = 2
CMD_CONFIRMED_EVENT_REPORT = 1
CMD_CONFIRMED_ACTION = 7
NOM_NOTI_MDS_CREAT = 0x0D06
SPDU_CONNECT, SPDU_ACCEPT = 0x0D, 0x0E
SESSION_DATA_BYTES = bytes.fromhex("0508130100160102800014020002")
# The monitor's MDSE user information: MDDL version 1, the nomenclature's, no functional units, a server, cold.
SERVER_USER_INFORMATION = struct.Struct(">5I").pack(0x80000000, 0x40000000, 0, 0x00800000, 0x20000000)
# session, context, RORS, length | invoke id, command, length | MDS class, context, handle | time | event type
EVENT_RESULT = struct.Struct(">HHHHHHHHHHIHH")
MDS_CREATE_INVOKE_ID = 1
NOM_ACT_POLL_MDIB_DATA = 0x0C16
NOM_MOC_VMS_MDS = 33
NOM_PART_OBJ = 1
NOM_PART_SCADA = 2
NOM_MOC_VMO_METRIC_NU = 6
NOM_ATTR_ID_TYPE = 0x092F
NOM_ATTR_NU_CMPD_VAL_OBS = 0x094B
NOM_ATTR_NU_VAL_OBS = 0x0950
NOM_ATTR_TIME_STAMP_ABS = 0x0990
# session, context, ROIV, length | invoke id, command, length | MDS class, context, handle, scope | action,
# length | poll number, polled partition, polled code, attribute group
POLL_REQUEST = struct.Struct(">HHHHHHHHHHIHHHHHH")
# RelativeTime counts 1/8 ms.
RELATIVE_TICKS_PER_SECOND = 8000


def fcs(data: bytes) -> int:
    """PPP's frame check sequence (RFC 1662): CRC-16/X-25."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def frame(data: bytes) -> bytes:
    covered = FRAME_HEADER.pack(0x11, 0x01, len(data)) + data
    return stuff(covered + struct.pack("<H", fcs(covered)), BOF, EOF)


def unwrap(unstuffed: bytes) -> bytes | None:
    """The application data of an unescaped frame whose header, length and FCS are right, else None."""
    if len(unstuffed) < FRAME_HEADER.size + 2:
        return None
    protocol, message, length = FRAME_HEADER.unpack_from(unstuffed)
    covered = unstuffed[:-2]
    if (protocol, message) != (0x11, 0x01) or length != len(covered) - FRAME_HEADER.size:
        return None
    if fcs(covered) != struct.unpack_from("<H", unstuffed, len(covered))[0]:
        return None
    return covered[FRAME_HEADER.size :]


def float_type(mantissa: int, exponent: int) -> int:
    """IEEE 11073's FLOAT: a signed 8-bit exponent over a signed 24-bit mantissa."""
    return (exponent & 0xFF) << 24 | mantissa & 0xFFFFFF


def bcd(value: int) -> int:
    return (value // 10) << 4 | value % 10


def absolute_time(when: datetime) -> bytes:
    """AbsoluteTime: century, year, month, day, hour, minute, second, hundredths, in BCD."""
    fields = (when.year // 100, when.year % 100, when.month, when.day, when.hour, when.minute, when.second, 0)
    return bytes(bcd(field) for field in fields)


def _ava(attribute: int, value: bytes) -> bytes:
    return struct.pack(">HH", attribute, len(value)) + value


def _counted(items: list[bytes]) -> bytes:
    """A list as the PDU carries one: its count and length in bytes, then its items."""
    body = b"".join(items)
    return struct.pack(">HH", len(items), len(body)) + body


def _length_prefixed(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


class IntelliVue:
    def __init__(self, trace: SurgeryTrace, start: datetime) -> None:
        self._trace = trace
        self._clock = DeviceClock(start)
        self._unstuffer = Unstuffer(BOF, EOF)
        self.readings: list[Reading] = []
        # The poll numbers the collector sent once associated, in order; the associations it asked for; the polls
        # it sent before its association was ready, which got no answer.
        self.polls: list[int] = []
        self.associations = 0
        self.unanswered_polls = 0
        self._confirmed = False

    def receive(self, data: bytes, now: float) -> bytes:
        replies = b""
        for unstuffed in self._unstuffer.feed(data):
            pdu = unwrap(unstuffed)
            if pdu is None:
                continue
            if pdu[:1] == bytes([SPDU_CONNECT]) and len(pdu) > 2 and pdu[1] == len(pdu) - 2:
                self.associations += 1
                self._confirmed = False
                replies += frame(self._acceptance()) + frame(self._mds_create_event(now))
                continue
            if len(pdu) == EVENT_RESULT.size and self._confirms_mds_create(pdu):
                self._confirmed = True
                continue
            if len(pdu) < POLL_REQUEST.size:
                continue
            fields = POLL_REQUEST.unpack_from(pdu)
            session, _, ro_type, _, invoke_id, command, _, _, _, _, _, action, _, poll, partition, code, group = fields
            if (session, ro_type, command, action) != (
                SESSION_DATA,
                ROIV_APDU,
                CMD_CONFIRMED_ACTION,
                NOM_ACT_POLL_MDIB_DATA,
            ):
                continue
            if (partition, code) != (NOM_PART_OBJ, NOM_MOC_VMO_METRIC_NU):
                continue
            if not self._confirmed:
                self.unanswered_polls += 1
                continue
            self.polls.append(poll)
            replies += frame(self._poll_reply(invoke_id, poll, group, now))
        return replies

    def tick(self, now: float) -> bytes:
        return b""  # the monitor speaks only when asked

    @staticmethod
    def _acceptance() -> bytes:
        body = SESSION_DATA_BYTES + SERVER_USER_INFORMATION
        return bytes([SPDU_ACCEPT, len(body)]) + body

    def _mds_create_event(self, now: float) -> bytes:
        mds = struct.pack(">HHH", NOM_MOC_VMS_MDS, 0, 0)
        create_info = mds + _counted([])
        argument = mds + struct.pack(">IHH", self._relative_time(now), NOM_NOTI_MDS_CREAT, len(create_info))
        roiv = struct.pack(">HH", MDS_CREATE_INVOKE_ID, CMD_CONFIRMED_EVENT_REPORT) + _length_prefixed(
            argument + create_info
        )
        return struct.pack(">HHH", SESSION_DATA, PRESENTATION_CONTEXT, ROIV_APDU) + _length_prefixed(roiv)

    @staticmethod
    def _confirms_mds_create(pdu: bytes) -> bool:
        session, _, ro_type, _, invoke_id, command, _, mds_class, _, _, _, event_type, _ = EVENT_RESULT.unpack(pdu)
        return (session, ro_type, invoke_id, command, mds_class, event_type) == (
            SESSION_DATA,
            RORS_APDU,
            MDS_CREATE_INVOKE_ID,
            CMD_CONFIRMED_EVENT_REPORT,
            NOM_MOC_VMS_MDS,
            NOM_NOTI_MDS_CREAT,
        )

    @staticmethod
    def _relative_time(now: float) -> int:
        return round(now * RELATIVE_TICKS_PER_SECOND) & 0xFFFFFFFF

    def _poll_reply(self, invoke_id: int, poll: int, group: int, now: float) -> bytes:
        when = self._clock.at(now)
        observations = [
            struct.pack(">H", handle) + _counted(attributes)
            for handle, attributes in enumerate(self._numerics(self._trace.at(now), when), start=1)
        ]
        poll_reply = (
            struct.pack(">HI", poll, self._relative_time(now))
            + absolute_time(when)
            + struct.pack(">HHH", NOM_PART_OBJ, NOM_MOC_VMO_METRIC_NU, group)
            + _counted([struct.pack(">H", 0) + _counted(observations)])
        )
        action_result = struct.pack(">HHHH", NOM_MOC_VMS_MDS, 0, 0, NOM_ACT_POLL_MDIB_DATA) + _length_prefixed(
            poll_reply
        )
        rors = struct.pack(">HH", invoke_id, CMD_CONFIRMED_ACTION) + _length_prefixed(action_result)
        return struct.pack(">HHH", SESSION_DATA, PRESENTATION_CONTEXT, RORS_APDU) + _length_prefixed(rors)

    def _numerics(self, vitals: Vitals, when: datetime) -> list[list[bytes]]:
        """Each numeric object's attributes: its type, its value (or, for NIBP, three values and the time of
        the cuff's measurement); each value read also becomes an expected reading, in the reply's order."""
        time = int(when.timestamp())
        plain = [
            (mdc.ECG_HEART_RATE, mdc.DIM_BEAT_PER_MIN, round(vitals.heart_rate), 0),
            (mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, round(vitals.spo2), 0),
            (mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, round(vitals.pulse_rate), 0),
            # The monitor's relative perfusion index is dimensionless.
            (mdc.PULS_OXIM_PERF_REL, mdc.DIM_DIMLESS, fixed(vitals.perfusion_index, 2), -2),
            (mdc.TEMP_BODY, mdc.DIM_DEGC, fixed(vitals.temperature, 1), -1),
            (mdc.RESP_RATE, mdc.DIM_RESP_PER_MIN, round(vitals.respiration_rate), 0),
            (mdc.AWAY_CO2_ET, mdc.DIM_MMHG, round(vitals.et_co2), 0),
        ]
        compound = [
            (mdc.PRESS_BLD_NONINV_SYS, mdc.DIM_MMHG, vitals.cuff.systolic, 0),
            (mdc.PRESS_BLD_NONINV_DIA, mdc.DIM_MMHG, vitals.cuff.diastolic, 0),
            (mdc.PRESS_BLD_NONINV_MEAN, mdc.DIM_MMHG, vitals.cuff.mean, 0),
        ]
        objects = [
            [self._type(metric), _ava(NOM_ATTR_NU_VAL_OBS, self._value(metric, unit, mantissa, exponent, time))]
            for metric, unit, mantissa, exponent in plain
        ]
        values = [self._value(metric, unit, mantissa, exponent, time) for metric, unit, mantissa, exponent in compound]
        measured = self._clock.at(vitals.cuff.measured_at)
        objects.append(
            [
                self._type(mdc.PRESS_BLD_NONINV),
                _ava(NOM_ATTR_NU_CMPD_VAL_OBS, _counted(values)),
                _ava(NOM_ATTR_TIME_STAMP_ABS, absolute_time(measured)),
            ]
        )
        return objects

    @staticmethod
    def _type(metric: int) -> bytes:
        return _ava(NOM_ATTR_ID_TYPE, struct.pack(">HH", NOM_PART_SCADA, mdc.term(metric)))

    def _value(self, metric: int, unit: int, mantissa: int, exponent: int, time: int) -> bytes:
        """A NuObsValue {physio ID, state (valid), unit, FLOAT}."""
        self.readings.append(Reading(metric, unit, mantissa, exponent, time))
        return struct.pack(">HHHI", mdc.term(metric), 0, mdc.term(unit), float_type(mantissa, exponent))
