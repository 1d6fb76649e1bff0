"""The collector's ELF on QEMU's netduinoplus2 (an STM32F405): instruments on its UARTs (hand-made frames, and
the six simulated instruments of medledger_instrument_simulators), MAC'd records out of its uplink to a gateway
that acknowledges them. Each UART is a Unix socket of QEMU's, so nothing here touches a network; the board's
identity and key are loaded into its provisioning flash sector as the playbook would."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medledger_collector_gateway.store import Store
from medledger_collector_gateway.uplink import Record
from medledger_instrument_simulators import medibus
from medledger_instrument_simulators.run import OperatingRoom

from .collector_board import (
    COLLECTOR,
    DATEX,
    FIRMWARE,
    HL7,
    INTELLIVUE,
    MASIMO,
    MEDIBUS,
    MEDIBUS_INITIALISE,
    UPLINK,
    Board,
    as_read,
    build_elf,
    instruments_playing,
    reading,
)

SPO2, PERCENT = 150456, 262688
MASIMO_LINE = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=000800\r\n"
ORU = (
    b"MSH|^~\\&|MINDRAY|MINDRAY|CIS|HOSPITAL|20261128120000+0800||ORU^R01^ORU_R01|MSG00042|P|2.6\r"
    b"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.6.1.1|98|262688^MDC_DIM_PERCENT^MDC|||||R\r"
)
MEDIBUS_CURRENT_DATA = medibus.frame(medibus.ESC, medibus.CURRENT_DATA_CP1)
SURGERY_START = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
# Long enough for a few of every instrument's readings (Datex's come every 5 s once asked); on a busy host
# QEMU's SysTick loses ticks and they come later.
SURGERY_SECONDS = 12
SURGERY_DEADLINE_SECONDS = 40


def masimo_line(second: int) -> bytes:
    return MASIMO_LINE.replace(b"47:45", b"47:%02d" % second)


@pytest.fixture(scope="module")
def elf() -> Path:
    return build_elf()


@pytest.fixture(scope="module")
def board(elf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    folder = tmp_path_factory.mktemp("qemu")
    running = Board(folder, Store(folder / "gateway.sqlite"))
    yield running
    running.close()
    running.store.close()


def test_an_output_only_instrument_reaches_the_gateway_with_codes_units_and_its_clock(board: Board) -> None:
    board.ports[MASIMO].sendall(MASIMO_LINE)
    # SpO2 98 %, pulse 97 /min, PI 3.60 %, at 2016-02-22 22:47:45 UTC.
    board.gateway_until(reading(MASIMO, 150448, PERCENT, 360, -2, at=1456181265))
    board.gateway_until(reading(MASIMO, SPO2, PERCENT, 98, 0, at=1456181265))
    board.gateway_until(reading(MASIMO, 149530, 264864, 97, 0, at=1456181265))
    assert [record.sequence for record in board.records][:3] == [1, 2, 3]


def test_an_hl7_message_is_acknowledged_and_its_observation_forwarded(board: Board) -> None:
    board.ports[HL7].sendall(b"\x0b" + ORU + b"\x1c\r")
    board.read_until(HL7, b"MSA|AA|MSG00042\r\x1c\r")
    board.gateway_until(reading(HL7, SPO2, PERCENT, 98, 0, at=1795838400))


def test_a_requesting_driver_asks_and_reads_the_answer(board: Board) -> None:
    board.forget(MEDIBUS)
    board.read_until(MEDIBUS, MEDIBUS_INITIALISE)
    board.ports[MEDIBUS].sendall(medibus.frame(medibus.SOH, medibus.CURRENT_DATA_CP1, b"EB  97E6  36"))
    board.gateway_until(reading(MEDIBUS, SPO2, PERCENT, 97, 0, at=0))
    board.gateway_until(reading(MEDIBUS, 151708, 266016, 36, 0, at=0))
    # Heard from, the device is asked for its data from then on.
    board.forget(MEDIBUS)
    board.read_until(MEDIBUS, MEDIBUS_CURRENT_DATA)


def test_an_intellivue_monitor_that_never_answers_is_asked_to_associate_and_never_polled(board: Board) -> None:
    # The start of the association request's frame: the MIB header (238 bytes of data), then a connect SPDU. It
    # comes again every 5 s of the board's clock (slower than the wall's on a busy host).
    request = b"\xc0\x11\x01\x00\xee\x0d\xec"
    with board.arrived:
        asked_again = board.arrived.wait_for(lambda: board.received[INTELLIVUE].count(request) >= 2, timeout=30)
        sent = board.received[INTELLIVUE]
    assert asked_again, f"one association request at most: {sent[:40]!r}"
    assert b"\xc0\x11\x01\x00\x24" not in sent, "a poll (36 bytes of data) before any association"


def test_garbage_streaming_on_one_port_does_not_stop_the_others(board: Board) -> None:
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            board.ports[DATEX].sendall(b"\x55" * 256)

    babbler = threading.Thread(target=babble)
    babbler.start()
    try:
        time.sleep(0.5)
        board.ports[MASIMO].sendall(masimo_line(46))
        board.gateway_until(reading(MASIMO, SPO2, PERCENT, 98, 0, at=1456181266))
    finally:
        stop.set()
        babbler.join()


def test_readings_during_an_uplink_outage_are_replayed_with_no_sequence_lost(board: Board) -> None:
    board.gateway(1)
    # The gateway goes away: what the collector sends is lost, and nothing is acknowledged.
    lost = []
    for second in range(50, 54):
        board.ports[MASIMO].sendall(masimo_line(second))
        lost += board.gateway(0.5, away=True)
    assert any(isinstance(message, Record) for message in lost), "the collector sent nothing while the gateway was away"
    board.gateway(4)
    stored = [(record.chain, record.sequence) for record in board.records]
    assert stored == [(1, sequence) for sequence in range(1, len(stored) + 1)], "a sequence number is missing"
    for second in range(50, 54):
        assert any(record.device_time == 1456181220 + second for record in board.records)


def test_an_acknowledgement_under_another_key_drops_nothing(board: Board) -> None:
    board.gateway(1)
    board.ports[MASIMO].sendall(masimo_line(58))
    forged = {message.sequence for message in board.gateway(1, forged_key=bytes(32)) if isinstance(message, Record)}
    assert forged, "the collector sent nothing"
    # Not acknowledged, so sent again after the collector's 2 s timeout, and stored.
    board.gateway(4)
    assert forged <= {record.sequence for record in board.records}


def test_a_rebooted_collector_gets_a_new_session_and_its_first_readings_are_not_taken_for_old_ones(
    elf: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "gateway.sqlite")
    try:
        for boot, second in ((1, 10), (2, 11)):
            folder = tmp_path / f"boot{boot}"
            folder.mkdir()
            rebooted = Board(folder, store)
            try:
                rebooted.ports[MASIMO].sendall(masimo_line(second))
                rebooted.gateway_until(reading(MASIMO, SPO2, PERCENT, 98, 0, at=1456181220 + second))
            finally:
                rebooted.close()
        chains = {(record.chain, record.sequence) for record in store.readings(COLLECTOR)}
        assert {(1, 1), (2, 1)} <= chains
    finally:
        store.close()


def test_an_unprovisioned_board_sends_nothing(elf: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "gateway.sqlite")
    unprovisioned = Board(tmp_path, store, provisioned=False)
    try:
        unprovisioned.ports[MASIMO].sendall(MASIMO_LINE)
        time.sleep(2)
        assert unprovisioned.received[UPLINK] == b""
    finally:
        unprovisioned.close()
        store.close()


def test_six_simulated_instruments_reach_the_gateway_with_exactly_the_values_they_sent(
    elf: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "gateway.sqlite")
    board = Board(tmp_path, store)
    room = OperatingRoom(SURGERY_START, seed=17)
    deadline = time.monotonic() + SURGERY_DEADLINE_SECONDS
    try:
        with instruments_playing(board, room) as cabling:
            board.gateway(SURGERY_SECONDS)
            while {record.port for record in board.records} != set(range(UPLINK)):
                assert time.monotonic() < deadline, f"not every instrument reached the gateway: {cabling.traffic()}"
                board.gateway(0.5)
    finally:
        board.close()
    try:
        stored = [as_read(record) for record in board.records]
    finally:
        store.close()
    for port, sent in room.expected_readings().items():
        arrived = [value for read_on, value in stored if read_on == port]
        # In order and none lost: what is missing is only what was still on its way when the gateway stopped.
        assert arrived == sent[: len(arrived)]
    # Each request side: Datex asked once, Nonin's format selected, MEDIBUS initialised before its data and the
    # device's own commands answered, every HL7 message acknowledged but perhaps the last, polls numbered on.
    assert room.datex.requests == [5]
    assert room.nonin.selections == [7]
    assert room.medibus.commands[0] == medibus.ICC
    assert medibus.CURRENT_DATA_CP1 in room.medibus.commands
    assert room.medibus.own_commands_answered > 0
    assert room.medibus.own_commands_unanswered == 0
    assert len(room.hl7.acknowledged) >= 3
    assert len(room.hl7.unacknowledged) <= 1
    assert (room.intellivue.associations, room.intellivue.unanswered_polls) == (1, 0)
    polls = room.intellivue.polls
    assert len(polls) >= SURGERY_SECONDS // 2
    assert polls == list(range(polls[0], polls[0] + len(polls)))


def test_the_elf_is_the_same_built_from_another_folder(elf: Path, tmp_path: Path) -> None:
    """Reproducible: no build path or date goes into the ELF, so a second build elsewhere hashes the same."""
    copy = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, copy, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["make", "-C", str(copy), "elf"], check=True, capture_output=True)
    assert (copy / "build" / "arm" / "collector.elf").read_bytes() == elf.read_bytes()
