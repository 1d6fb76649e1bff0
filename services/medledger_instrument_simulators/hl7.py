"""A patient monitor sending HL7 v2 observations over MLLP (IHE PCD-01 DEC): an ORU^R01 every few seconds,
stamped in its local time with the UTC offset (MSH-7; the cuff's pressures at their own measurement time,
OBX-14), each expecting an ACK (MSA|AA with its control ID).

A frame is VT (0B) | message | FS CR (1C 0D); segments end in CR; there is no checksum."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from medledger_api.line_framing import DelimitedReader

from . import mdc
from .instrument import DeviceClock, Every, Reading, decimal_text, fixed
from .traces import SurgeryTrace

START, END = b"\x0b", b"\x1c\r"
# PCD-01's header fields after the control ID: processing ID, version, accept/application acknowledgement
# types, character set, message profile.
MSH_TAIL = "P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
SENDER = "MEDLEDGER_SIM^0000000000000001^EUI-64|OR3"
RECEIVER = "CIS|HOSPITAL"
UNIT_NAMES = {
    mdc.DIM_BEAT_PER_MIN: "MDC_DIM_BEAT_PER_MIN",
    mdc.DIM_PERCENT: "MDC_DIM_PERCENT",
    mdc.DIM_MMHG: "MDC_DIM_MMHG",
    mdc.DIM_DEGC: "MDC_DIM_DEGC",
    mdc.DIM_RESP_PER_MIN: "MDC_DIM_RESP_PER_MIN",
}


def mllp(message: str) -> bytes:
    return START + message.encode("ascii") + END


def timestamp(when: datetime) -> str:
    """An HL7 DTM to the second with its UTC offset: YYYYMMDDHHMMSS+ZZZZ."""
    return when.strftime("%Y%m%d%H%M%S%z")


class Hl7Monitor:
    def __init__(
        self,
        trace: SurgeryTrace,
        start: datetime,
        utc_offset: timedelta = timedelta(hours=1),
        interval: float = 5.0,
    ) -> None:
        self._trace = trace
        self._clock = DeviceClock(start)
        self._zone = timezone(utc_offset)
        self._messages = Every(interval)
        self._reader = DelimitedReader(START, END)
        self.readings: list[Reading] = []
        # Every message's control ID, in the order sent, and those the collector acknowledged.
        self.sent: list[str] = []
        self.acknowledged: list[str] = []

    @property
    def unacknowledged(self) -> list[str]:
        return [control_id for control_id in self.sent if control_id not in self.acknowledged]

    def receive(self, data: bytes, now: float) -> bytes:
        for received in self._reader.feed(data):
            control_id = self._acknowledged_id(received[len(START) :].decode("ascii", "replace"))
            if control_id in self.sent and control_id not in self.acknowledged:
                self.acknowledged.append(control_id)
        return b""

    def tick(self, now: float) -> bytes:
        return mllp(self._observations(now)) if self._messages.due(now) else b""

    @staticmethod
    def _acknowledged_id(message: str) -> str | None:
        """MSA-2 of an ACK with MSA-1 "AA" (application accept), else None."""
        segments = message.split("\r")
        if not segments[0].startswith("MSH") or len(segments[0]) < 4:
            return None
        separator = segments[0][3]
        for segment in segments[1:]:
            fields = segment.split(separator)
            if fields[0] == "MSA" and len(fields) > 2 and fields[1] == "AA":
                return fields[2]
        return None

    def _observations(self, now: float) -> str:
        vitals = self._trace.at(now)
        control_id = f"MSG{len(self.sent) + 1:05d}"
        self.sent.append(control_id)
        sent_at = self._clock.at(now)
        measured_at = self._clock.at(vitals.cuff.measured_at)
        local = timestamp(sent_at.astimezone(self._zone))
        cuff = timestamp(measured_at.astimezone(self._zone))
        # metric, its MDC name, OBX-4 (MDS.VMD.channel.metric), unit, value in units of 10^-decimals, decimals
        observations = [
            (mdc.ECG_HEART_RATE, "MDC_ECG_HEART_RATE", "1.1.1.1", mdc.DIM_BEAT_PER_MIN, round(vitals.heart_rate), 0),
            (mdc.PULS_OXIM_SAT_O2, "MDC_PULS_OXIM_SAT_O2", "1.6.1.1", mdc.DIM_PERCENT, round(vitals.spo2), 0),
            (
                mdc.PULS_OXIM_PULS_RATE,
                "MDC_PULS_OXIM_PULS_RATE",
                "1.6.1.2",
                mdc.DIM_BEAT_PER_MIN,
                round(vitals.pulse_rate),
                0,
            ),
            (mdc.PRESS_CUFF_SYS, "MDC_PRESS_CUFF_SYS", "1.3.1.1", mdc.DIM_MMHG, vitals.cuff.systolic, 0),
            (mdc.PRESS_CUFF_DIA, "MDC_PRESS_CUFF_DIA", "1.3.1.2", mdc.DIM_MMHG, vitals.cuff.diastolic, 0),
            (mdc.PRESS_CUFF_MEAN, "MDC_PRESS_CUFF_MEAN", "1.3.1.3", mdc.DIM_MMHG, vitals.cuff.mean, 0),
            (mdc.TEMP_BODY, "MDC_TEMP_BODY", "1.7.1.1", mdc.DIM_DEGC, fixed(vitals.temperature, 1), 1),
            (mdc.RESP_RATE, "MDC_RESP_RATE", "1.5.1.1", mdc.DIM_RESP_PER_MIN, round(vitals.respiration_rate), 0),
            (mdc.AWAY_CO2_ET, "MDC_AWAY_CO2_ET", "1.5.1.2", mdc.DIM_MMHG, round(vitals.et_co2), 0),
        ]
        segments = [
            f"MSH|^~\\&|{SENDER}|{RECEIVER}|{local}||ORU^R01^ORU_R01|{control_id}|{MSH_TAIL}",
            "PID|||SIM-0001^^^HOSP^PI||Simulated^Patient",
            "PV1||I|OR^3^1",
            f"OBR|1|||182777000^monitoring of patient^SNOMED-CT|||{local}",
        ]
        for number, (metric, name, sub_id, unit, mantissa, decimals) in enumerate(observations, start=1):
            is_cuff = metric in (mdc.PRESS_CUFF_SYS, mdc.PRESS_CUFF_DIA, mdc.PRESS_CUFF_MEAN)
            segments.append(
                f"OBX|{number}|NM|{metric}^{name}^MDC|{sub_id}|{decimal_text(mantissa, decimals)}|"
                f"{unit}^{UNIT_NAMES[unit]}^MDC|||||R" + (f"|||{cuff}" if is_cuff else "")
            )
            device_time = measured_at if is_cuff else sent_at
            self.readings.append(Reading(metric, unit, mantissa, -decimals, int(device_time.timestamp())))
        return "\r".join(segments) + "\r"
