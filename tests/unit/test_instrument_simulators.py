"""The simulated instruments (medledger_instrument_simulators): each frame checked the way the collector checks
it, with checksums, CRCs and escapes computed here independently; each request side; the surgery trace. The
firmware reading them is tests/firmware's."""

from __future__ import annotations

import binascii
import socket
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from medledger_instrument_simulators import mdc
from medledger_instrument_simulators.datex import Datex
from medledger_instrument_simulators.hl7 import Hl7Monitor
from medledger_instrument_simulators.instrument import Reading
from medledger_instrument_simulators.intellivue import IntelliVue, fcs
from medledger_instrument_simulators.masimo import Masimo
from medledger_instrument_simulators.medibus import Medibus
from medledger_instrument_simulators.nonin import Nonin
from medledger_instrument_simulators.run import Cabling, OperatingRoom
from medledger_instrument_simulators.traces import SurgeryTrace

START = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
START_UNIX = 1795854600
FOUR_HOURS = 4 * 3600
# The collector's requests, byte for byte as firmware/src/protocols builds them.
MEDIBUS_ICC = b"\x1bQ6C\r"
MEDIBUS_CURRENT_DATA = b"\x1b$3F\r"
NONIN_SELECT_FORMAT_7 = bytes([0x02, 0x70, 0x02, 0x02, 0x07, 0x03])


@pytest.fixture
def trace() -> SurgeryTrace:
    return SurgeryTrace(seed=7)


def unstuffed_frames(wire: bytes, start: int, end: int) -> list[bytes]:
    """The frames of `wire`, which must be nothing but whole frames: no flag inside one, each escape a 7D
    before a flag or 7D xor 0x20."""
    frames = []
    while wire:
        assert wire[0] == start, f"a frame opens with {wire[0]:#04x}"
        closing = wire.index(end, 1)
        body, wire = wire[1:closing], wire[closing + 1 :]
        assert start not in body
        unescaped, escaped = bytearray(), False
        for byte in body:
            if escaped:
                assert byte ^ 0x20 in (start, end, 0x7D), f"{byte:#04x} needed no escape"
                unescaped.append(byte ^ 0x20)
                escaped = False
            elif byte == 0x7D:
                escaped = True
            else:
                unescaped.append(byte)
        assert not escaped
        frames.append(bytes(unescaped))
    return frames


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 from binascii's unreflected CCITT CRC: reflect every byte in and the result out."""

    def reflected(value: int, bits: int) -> int:
        return int(f"{value:0{bits}b}"[::-1], 2)

    return reflected(binascii.crc_hqx(bytes(reflected(byte, 8) for byte in data), 0xFFFF), 16) ^ 0xFFFF


def datex_request(interval: int) -> bytes:
    record = bytearray(49)
    struct.pack_into("<h", record, 0, 49)
    record[16 + 3 + 2] = 0xFF
    struct.pack_into("<Bh", record, 40, 1, interval)
    record.append(sum(record) & 0xFF)
    return bytes([0x7E]) + bytes(record).replace(b"}", b"}]").replace(b"~", b"}^") + bytes([0x7E])


def intellivue_frame(data: bytes) -> bytes:
    covered = bytes([0x11, 0x01]) + struct.pack(">H", len(data)) + data
    framed = covered + struct.pack("<H", crc16_x25(covered))
    escaped = bytearray()
    for byte in framed:
        escaped += bytes([0x7D, byte ^ 0x20]) if byte in (0x7D, 0xC0, 0xC1) else bytes([byte])
    return b"\xc0" + bytes(escaped) + b"\xc1"


def intellivue_poll(invoke_id: int) -> bytes:
    words = [0xE100, 2, 1, 28, invoke_id, 7, 22, 33, 0, 0, 0, 0, 0x0C16, 8, invoke_id, 1, 6, 0]
    return intellivue_frame(struct.pack(">18H", *words))


# A connect SPDU (its session header, then what the simulator does not read) and the MDS Create event's
# confirmation (invoke id 1, the MDS object, the create event).
INTELLIVUE_ASSOCIATION_REQUEST = intellivue_frame(bytes([0x0D, 4, 0x05, 0x08, 0x13, 0x01]))
INTELLIVUE_MDS_CREATE_CONFIRMATION = intellivue_frame(
    struct.pack(">HHHHHHHHHHIHH", 0xE100, 2, 2, 20, 1, 1, 14, 33, 0, 0, 0, 0x0D06, 0)
)


def associated(monitor: IntelliVue) -> IntelliVue:
    monitor.receive(INTELLIVUE_ASSOCIATION_REQUEST + INTELLIVUE_MDS_CREATE_CONFIRMATION, 0.0)
    return monitor


def test_the_trace_stays_physiological_for_four_hours_and_cools_the_patient() -> None:
    for seed in range(5):
        trace = SurgeryTrace(seed)
        previous = trace.at(0)
        for elapsed in range(10, FOUR_HOURS + 1, 10):
            vitals = trace.at(elapsed)
            assert 45 <= vitals.heart_rate <= 110
            assert abs(vitals.pulse_rate - vitals.heart_rate) < 2
            assert 94 <= vitals.spo2 <= 100
            assert 0.5 <= vitals.perfusion_index <= 8
            assert 85 <= vitals.cuff.systolic <= 170
            assert 45 <= vitals.cuff.diastolic < vitals.cuff.mean < vitals.cuff.systolic
            assert 35.5 <= vitals.temperature <= 37.2
            assert 35 <= vitals.et_co2 <= 40
            assert 8 <= vitals.respiration_rate <= 16
            assert 12 <= vitals.peak_airway_pressure <= 25
            assert 3 <= vitals.peep <= 8
            assert 350 <= vitals.tidal_volume <= 600
            # Smooth: ten seconds move nothing far.
            assert abs(vitals.heart_rate - previous.heart_rate) < 1
            assert abs(vitals.temperature - previous.temperature) < 0.01
            previous = vitals
        assert trace.at(0).temperature - trace.at(FOUR_HOURS).temperature > 0.4


def test_the_cuff_measures_every_few_minutes_and_holds_its_reading(trace: SurgeryTrace) -> None:
    assert trace.at(10).cuff == trace.at(170).cuff
    assert trace.at(10).cuff.measured_at == 0
    assert trace.at(200).cuff.measured_at == 180
    inflations = {trace.at(elapsed).cuff for elapsed in range(0, 3600, 30)}
    assert len(inflations) == 20


def test_a_seed_gives_the_same_surgery_every_time() -> None:
    moments = [0, 1.5, 600, 3600.25, FOUR_HOURS]
    assert [SurgeryTrace(11).at(t) for t in moments] == [SurgeryTrace(11).at(t) for t in moments]
    assert [SurgeryTrace(11).at(t) for t in moments] != [SurgeryTrace(12).at(t) for t in moments]


def test_datex_sends_nothing_until_asked_then_a_record_every_interval(trace: SurgeryTrace) -> None:
    datex = Datex(trace, START)
    assert all(datex.tick(t / 10) == b"" for t in range(200))
    assert datex.receive(datex_request(5)[:20], 20.0) == b""
    first = datex.receive(datex_request(5)[20:], 20.0)
    assert len(unstuffed_frames(first, 0x7E, 0x7E)) == 1
    assert all(datex.tick(t / 10) == b"" for t in range(201, 250))
    assert len(unstuffed_frames(datex.tick(25.0), 0x7E, 0x7E)) == 1
    assert datex.requests == [5]
    datex.receive(datex_request(0), 26.0)
    assert all(datex.tick(t) == b"" for t in range(26, 60))


def test_a_datex_record_is_summed_and_carries_the_readings_it_says(trace: SurgeryTrace) -> None:
    datex = Datex(trace, START)
    wire = datex.receive(datex_request(10), 3.4)
    (unstuffed,) = unstuffed_frames(wire, 0x7E, 0x7E)
    record, checksum = unstuffed[:-1], unstuffed[-1]
    assert sum(record) & 0xFF == checksum
    assert struct.unpack_from("<hBBHI4xh", record) == (len(record), 0, 0, 0, START_UNIX + 3, 0)
    offset, subrecord_type = struct.unpack_from("<hB", record, 16)
    assert subrecord_type == 1
    assert record[16 + 3 + 2] == 0xFF
    phdb = record[40 + offset :]

    def at(position: int) -> int:
        value: int = struct.unpack_from("<h", phdb, position)[0]
        return value

    time_stamp = struct.unpack_from("<I", phdb)[0]
    read = [
        Reading(mdc.ECG_HEART_RATE, mdc.DIM_BEAT_PER_MIN, at(10), 0, time_stamp),
        Reading(mdc.PRESS_BLD_NONINV_SYS, mdc.DIM_MMHG, at(82), -2, time_stamp),
        Reading(mdc.PRESS_BLD_NONINV_DIA, mdc.DIM_MMHG, at(84), -2, time_stamp),
        Reading(mdc.PRESS_BLD_NONINV_MEAN, mdc.DIM_MMHG, at(86), -2, time_stamp),
        Reading(mdc.TEMP_BODY, mdc.DIM_DEGC, at(96), -2, time_stamp),
        Reading(mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, at(128), -2, time_stamp),
        Reading(mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, at(130), 0, time_stamp),
        Reading(mdc.RESP_RATE, mdc.DIM_RESP_PER_MIN, at(146), 0, time_stamp),
        Reading(mdc.AWAY_CO2_ET, mdc.DIM_MMHG, at(142) * at(148), -5, time_stamp),
    ]
    assert datex.readings == read
    vitals = trace.at(3.4)
    assert at(10) == round(vitals.heart_rate)
    assert at(82) == 100 * vitals.cuff.systolic
    assert at(142) * at(148) / 1e5 == pytest.approx(vitals.et_co2, abs=0.05)


def test_the_crc_here_is_the_catalogue_crc16_x25() -> None:
    assert crc16_x25(b"123456789") == 0x906E == fcs(b"123456789")


def intellivue_numerics(pdu: bytes) -> tuple[int, int, bytes, list[tuple[int, int, int, int]]]:
    """Invoke id, poll number, BCD time and every (physio, state, unit, FLOAT) of a poll reply."""
    session, context, ro_type, _, invoke_id, command, _ = struct.unpack_from(">7H", pdu)
    assert (session, context, ro_type, command) == (0xE100, 2, 2, 7)
    action, _, poll_number = struct.unpack_from(">HHH", pdu, 20)
    assert action == 0x0C16
    when = pdu[30:38]
    partition, code, _, contexts, _ = struct.unpack_from(">5H", pdu, 38)
    assert (partition, code, contexts) == (1, 6, 1)
    at = 48
    _, observations, _ = struct.unpack_from(">3H", pdu, at)
    at += 6
    values = []
    for _ in range(observations):
        _, attributes, _ = struct.unpack_from(">3H", pdu, at)
        at += 6
        for _ in range(attributes):
            attribute, length = struct.unpack_from(">HH", pdu, at)
            value = pdu[at + 4 : at + 4 + length]
            at += 4 + length
            if attribute == 0x0950:
                values.append(struct.unpack(">HHHI", value))
            elif attribute == 0x094B:
                count = struct.unpack_from(">H", value)[0]
                values += [struct.unpack_from(">HHHI", value, 4 + 10 * n) for n in range(count)]
    assert at == len(pdu)
    return invoke_id, poll_number, when, values


def from_float(value: int) -> tuple[int, int]:
    """IEEE 11073's FLOAT: mantissa (signed 24 bits) and exponent (signed 8)."""
    mantissa = value & 0xFFFFFF
    exponent = value >> 24
    return mantissa - (mantissa & 0x800000) * 2, exponent - (exponent & 0x80) * 2


def test_intellivue_accepts_an_association_and_reports_its_mds_before_it_answers_polls(trace: SurgeryTrace) -> None:
    monitor = IntelliVue(trace, START)
    assert monitor.receive(intellivue_poll(1), 1.0) == b"", "no association yet"
    accepted, event = unstuffed_frames(monitor.receive(INTELLIVUE_ASSOCIATION_REQUEST, 2.0), 0xC0, 0xC1)
    assert accepted[4] == 0x0E, "an accept SPDU"
    session, context, ro_type, _, invoke_id, command, _, mds_class = struct.unpack_from(">8H", event, 4)
    assert (session, context, ro_type, invoke_id, command, mds_class) == (0xE100, 2, 1, 1, 1, 33)
    assert struct.unpack_from(">H", event, 4 + 24)[0] == 0x0D06, "the MDS Create event"
    assert monitor.receive(intellivue_poll(2), 3.0) == b"", "the event is not confirmed yet"
    monitor.receive(INTELLIVUE_MDS_CREATE_CONFIRMATION, 3.5)
    assert len(unstuffed_frames(monitor.receive(intellivue_poll(3), 4.0), 0xC0, 0xC1)) == 1
    assert (monitor.associations, monitor.unanswered_polls, monitor.polls) == (1, 2, [3])


def test_intellivue_answers_each_poll_with_a_checked_reply_of_its_numerics(trace: SurgeryTrace) -> None:
    monitor = associated(IntelliVue(trace, START))
    assert monitor.tick(5.0) == b""
    (frame,) = unstuffed_frames(monitor.receive(intellivue_poll(42), 61.5), 0xC0, 0xC1)
    assert frame[:2] == b"\x11\x01"
    assert struct.unpack_from(">H", frame, 2)[0] == len(frame) - 6
    assert struct.unpack_from("<H", frame, len(frame) - 2)[0] == crc16_x25(frame[:-2])
    invoke_id, poll_number, when, values = intellivue_numerics(frame[4:-2])
    assert (invoke_id, poll_number) == (42, 42)
    # 08:31:01 on 2026-11-28, to the second.
    assert when == bytes([0x20, 0x26, 0x11, 0x28, 0x08, 0x31, 0x01, 0x00])
    read = [
        Reading(2 << 16 | physio, 4 << 16 | unit, *from_float(value), START_UNIX + 61)
        for physio, state, unit, value in values
        if state == 0
    ]
    assert monitor.readings == read
    assert {reading.metric for reading in read} >= {mdc.ECG_HEART_RATE, mdc.PRESS_BLD_NONINV_MEAN, mdc.TEMP_BODY}


def test_intellivue_ignores_a_poll_with_a_bad_fcs(trace: SurgeryTrace) -> None:
    poll = bytearray(intellivue_poll(1))
    poll[-2] ^= 0x01
    assert associated(IntelliVue(trace, START)).receive(bytes(poll), 1.0) == b""


def medibus_checksum_is_right(frame: bytes) -> bool:
    body, digits = frame[:-3], frame[-3:-1]
    return frame.endswith(b"\r") and digits == b"%02X" % (sum(body) & 0xFF)


def test_medibus_answers_once_initialised_with_checksummed_current_data(trace: SurgeryTrace) -> None:
    device = Medibus(trace)
    assert device.receive(MEDIBUS_CURRENT_DATA, 0.5) == b""
    assert device.tick(0.6) == b""
    assert device.receive(MEDIBUS_ICC, 1.0) == b"\x01Q52\r"
    reply = device.receive(MEDIBUS_CURRENT_DATA[:2], 2.0) + device.receive(MEDIBUS_CURRENT_DATA[2:], 2.0)
    assert reply.startswith(b"\x01$")
    assert medibus_checksum_is_right(reply)
    records = reply[2:-3]
    assert len(records) % 6 == 0
    metrics = {
        0x7D: (mdc.PRESS_AWAY_INSP_PEAK, mdc.DIM_HECTO_PASCAL),
        0x78: (mdc.PRESS_AWAY_END_EXP_POS, mdc.DIM_HECTO_PASCAL),
        0x88: (mdc.VOL_AWAY_TIDAL, mdc.DIM_MILLI_L),
        0xEB: (mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT),
        0xE6: (mdc.AWAY_CO2_ET, mdc.DIM_MMHG),
    }
    read = []
    for at in range(0, len(records), 6):
        code, value = int(records[at : at + 2], 16), records[at + 2 : at + 6].decode().strip()
        whole, _, decimals = value.partition(".")
        read.append(Reading(*metrics[code], int(whole + decimals), -len(decimals), 0))
    assert device.readings == read
    assert [reading.metric for reading in read] == [metric for metric, _ in metrics.values()]
    assert device.commands == [0x51, 0x24]


def test_medibus_keeps_the_link_alive_with_its_own_nop_and_drops_it_after_a_silence(trace: SurgeryTrace) -> None:
    device = Medibus(trace)
    device.receive(MEDIBUS_ICC, 0.0)
    nop = device.tick(2.0)
    assert nop == b"\x1b04B\r" and medibus_checksum_is_right(nop)
    device.receive(b"\x01031\r", 2.1)
    assert device.own_commands_answered == 1
    device.receive(MEDIBUS_CURRENT_DATA, 3.0)
    assert device.tick(4.0) == nop
    assert device.tick(6.0) == nop
    assert device.own_commands_unanswered == 1
    # 3 s since the collector's last command: the link is down until it initialises again.
    assert device.receive(MEDIBUS_CURRENT_DATA, 6.5) == b""
    assert device.receive(MEDIBUS_ICC, 7.0) == b"\x01Q52\r"


def mllp_message(wire: bytes) -> list[str]:
    assert wire.startswith(b"\x0b") and wire.endswith(b"\x1c\r")
    body = wire[1:-2]
    assert b"\x0b" not in body and b"\x1c" not in body
    text = body.decode("ascii")
    assert text.endswith("\r")
    return text[:-1].split("\r")


def test_hl7_sends_an_oru_every_interval_at_its_local_time_with_the_offset(trace: SurgeryTrace) -> None:
    monitor = Hl7Monitor(trace, START)
    segments = mllp_message(monitor.tick(0.0))
    assert monitor.tick(4.9) == b""
    assert monitor.tick(5.0) != b""
    msh = segments[0].split("|")
    # MSH-7 (the separator is MSH-1, so it is piece 6), MSH-9, MSH-10.
    assert (msh[6], msh[8], msh[9]) == ("20261128093000+0100", "ORU^R01^ORU_R01", "MSG00001")
    observations = [segment.split("|") for segment in segments if segment.startswith("OBX|")]
    read = []
    for obx in observations:
        assert obx[2] == "NM"
        metric, unit = int(obx[3].split("^")[0]), int(obx[6].split("^")[0])
        whole, _, decimals = obx[5].partition(".")
        device_time = START_UNIX
        if len(obx) > 14:
            measured = datetime.strptime(obx[14], "%Y%m%d%H%M%S%z")
            device_time = int(measured.timestamp())
        read.append(Reading(metric, unit, int(whole + decimals), -len(decimals), device_time))
    assert monitor.readings[: len(read)] == read
    assert {mdc.PRESS_CUFF_SYS, mdc.TEMP_BODY, mdc.AWAY_CO2_ET} <= {reading.metric for reading in read}


def test_hl7_counts_the_acknowledgements_of_its_messages(trace: SurgeryTrace) -> None:
    monitor = Hl7Monitor(trace, START)
    monitor.tick(0.0)
    monitor.tick(5.0)
    ack = b"\x0bMSH|^~\\&|CIS|HOSPITAL|MEDLEDGER_SIM|OR3|||ACK^R01^ACK|MSG00001|P|2.6\rMSA|AA|MSG00001\r\x1c\r"
    assert monitor.receive(ack[:30], 5.1) == b""
    monitor.receive(ack[30:], 5.1)
    monitor.receive(ack.replace(b"AA|MSG00001", b"AE|MSG00002"), 5.2)
    assert monitor.acknowledged == ["MSG00001"]
    assert monitor.unacknowledged == ["MSG00002"]


def test_masimo_sends_a_line_a_second_with_its_clock_and_no_sensor_exception(trace: SurgeryTrace) -> None:
    oximeter = Masimo(trace, START)
    assert oximeter.receive(b"anything", 0.0) == b""
    line = oximeter.tick(0.0)
    assert oximeter.tick(0.5) == b""
    assert oximeter.tick(1.0).startswith(b"11/28/26 08:30:01 ")
    assert line.endswith(b"\r\n") and line.count(b"\r") == 1 and len(line) <= 256
    assert line.startswith(b"11/28/26 08:30:00 SN=")
    fields = {key: value for key, _, value in (token.partition("=") for token in line[18:-2].decode().split(" "))}
    assert int(fields["EXC"], 16) & 0x021 == 0
    spo2, bpm, perfusion = fields["SPO2"].rstrip("%"), fields["BPM"], fields["PI"].rstrip("%")
    assert oximeter.readings[:3] == [
        Reading(mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, int(spo2), 0, START_UNIX),
        Reading(mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, int(bpm), 0, START_UNIX),
        Reading(mdc.PULS_OXIM_PERF_REL, mdc.DIM_PERCENT, int(perfusion.replace(".", "")), -2, START_UNIX),
    ]


def test_nonin_streams_format_7_packets_once_selected(trace: SurgeryTrace) -> None:
    oximeter = Nonin(trace)
    assert oximeter.tick(5.0) == b""
    assert oximeter.receive(NONIN_SELECT_FORMAT_7[:3], 10.0) == b""
    assert oximeter.receive(NONIN_SELECT_FORMAT_7[3:], 10.0) == b"\x06"
    stream = b"".join(oximeter.tick(10.0 + n / 100) for n in range(101))
    frames = [stream[at : at + 5] for at in range(0, len(stream), 5)]
    # One second: 75 frames, and the first of the next.
    assert len(stream) == 5 * 76
    for number, frame in enumerate(frames):
        assert frame[0] & 0x80
        assert frame[4] == sum(frame[:4]) & 0xFF
        assert bool(frame[0] & 0x01) == (number % 25 == 0)
    read = []
    for packet in range(3):
        data = [frame[3] for frame in frames[25 * packet : 25 * packet + 3]]
        read += [
            Reading(mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, (data[0] & 0x03) << 7 | data[1] & 0x7F, 0, 0),
            Reading(mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, data[2] & 0x7F, 0, 0),
        ]
    assert oximeter.readings[:6] == read
    assert oximeter.selections == [7]


def test_nonin_refuses_a_format_it_does_not_speak(trace: SurgeryTrace) -> None:
    oximeter = Nonin(trace)
    assert oximeter.receive(bytes([0x02, 0x70, 0x02, 0x02, 0x02, 0x03]), 1.0) == b"\x15"
    assert oximeter.tick(2.0) == b""


@pytest.fixture
def collector_ends() -> Iterator[tuple[list[socket.socket], list[socket.socket]]]:
    pairs = [socket.socketpair() for _ in range(6)]
    yield [collector for collector, _ in pairs], [instrument for _, instrument in pairs]
    for pair in pairs:
        for end in pair:
            end.close()


def test_the_cabling_serves_every_instrument_on_its_socket_until_stopped(
    collector_ends: tuple[list[socket.socket], list[socket.socket]],
) -> None:
    collector, instruments = collector_ends
    cabling = Cabling(OperatingRoom(START, seed=3), instruments)
    stop = threading.Event()
    serving = threading.Thread(target=cabling.run, args=(stop,))
    serving.start()
    try:
        collector[2].sendall(MEDIBUS_ICC)
        collector[5].sendall(NONIN_SELECT_FORMAT_7)
        collector[2].settimeout(2)
        assert collector[2].recv(5) == b"\x01Q52\r"
        collector[5].settimeout(2)
        assert collector[5].recv(1) == b"\x06"
        deadline = time.monotonic() + 5
        while cabling.traffic()["masimo"]["sent"] == 0:
            assert time.monotonic() < deadline, "Masimo sent nothing"
            time.sleep(0.01)
    finally:
        stop.set()
        serving.join(timeout=5)
    assert not serving.is_alive()
    traffic = cabling.traffic()
    assert traffic["medibus"]["received"] == len(MEDIBUS_ICC)
    assert traffic["nonin"]["received"] == len(NONIN_SELECT_FORMAT_7)
    assert traffic["nonin"]["sent"] > 1
    assert traffic["datex"] == {"sent": 0, "received": 0}
    assert cabling.room.expected_readings()[4]
