"""The collector's ELF on QEMU's netduinoplus2 (an STM32F405): instruments on its UARTs (hand-made frames, and
the six simulated instruments of medledger_instrument_simulators), MAC'd records out of its uplink to a gateway
that acknowledges them. Each UART is a Unix socket of QEMU's, so nothing here touches a network; the board's
identity and key are loaded into its provisioning flash sector as the playbook would."""

from __future__ import annotations

import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medledger_collector_gateway import uplink
from medledger_collector_gateway.gateway import Gateway
from medledger_collector_gateway.store import Store, StoredReading
from medledger_collector_gateway.uplink import Hello, Record, unstuffer
from medledger_instrument_simulators import medibus
from medledger_instrument_simulators.instrument import Reading
from medledger_instrument_simulators.run import PASS_SECONDS, Cabling, OperatingRoom
from medledger_tools.paths import REPO_ROOT

FIRMWARE = REPO_ROOT / "firmware"
ELF = FIRMWARE / "build" / "arm" / "collector.elf"
DATEX, INTELLIVUE, MEDIBUS, HL7, MASIMO, NONIN, UPLINK = range(7)
PROVISIONING_ADDRESS = 0x080E0000
COLLECTOR = b"collector-or3-01"
KEY = bytes(range(1, 33))
SPO2, PERCENT = 150456, 262688
MASIMO_LINE = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=000800\r\n"
ORU = (
    b"MSH|^~\\&|MINDRAY|MINDRAY|CIS|HOSPITAL|20261128120000+0800||ORU^R01^ORU_R01|MSG00042|P|2.6\r"
    b"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.6.1.1|98|262688^MDC_DIM_PERCENT^MDC|||||R\r"
)
MEDIBUS_INITIALISE = medibus.frame(medibus.ESC, medibus.ICC)
MEDIBUS_CURRENT_DATA = medibus.frame(medibus.ESC, medibus.CURRENT_DATA_CP1)
SURGERY_START = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
# Long enough for a few of every instrument's readings (Datex's come every 5 s once asked); on a busy host
# QEMU's SysTick loses ticks and they come later.
SURGERY_SECONDS = 12
SURGERY_DEADLINE_SECONDS = 40


def masimo_line(second: int) -> bytes:
    return MASIMO_LINE.replace(b"47:45", b"47:%02d" % second)


class Board:
    """QEMU running the collector, a connected socket per UART, and the gateway (medledger_collector_gateway,
    its store in `store`) on the uplink.

    A thread reads every UART all the time, as instruments and a gateway would: QEMU writes a UART's bytes one
    at a time, and a Unix socket holds only a few hundred such writes, so a port nobody reads would block QEMU.
    """

    def __init__(self, folder: Path, store: Store, provisioned: bool = True) -> None:
        serials = [
            arg for port in range(7) for arg in ("-serial", f"unix:{folder / f'uart{port}.sock'},server=on,wait=off")
        ]
        provisioning = []
        if provisioned:
            page = folder / "provisioning.bin"
            page.write_bytes(struct.pack("<I", 0x31434C4D) + COLLECTOR + KEY)
            provisioning = ["-device", f"loader,file={page},addr={PROVISIONING_ADDRESS:#x},force-raw=on"]
        command = ["qemu-system-arm", "-M", "netduinoplus2", "-nographic", "-monitor", "none", "-kernel", str(ELF)]
        self.process = subprocess.Popen(
            [*command, *serials, *provisioning, "-semihosting-config", "enable=on,target=native"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (folder / "uart6.sock").exists():
            assert time.monotonic() < deadline, "QEMU made no UART sockets"
            time.sleep(0.05)
        self.ports = []
        for port in range(7):
            connection = socket.socket(socket.AF_UNIX)
            connection.connect(str(folder / f"uart{port}.sock"))
            self.ports.append(connection)
        self.received = {port: b"" for port in range(7)}
        self.arrived = threading.Condition()
        self.stopped = False
        self.reader = threading.Thread(target=self._read_every_port, daemon=True)
        self.reader.start()
        self.uplink_read = 0
        self.unstuffer = unstuffer()
        self.store = store
        self.real_gateway = Gateway(store, {COLLECTOR: KEY})
        # QEMU drops what a UART receives before the firmware enables it: wait until the firmware runs (its
        # MEDIBUS driver initialises the device every second until it answers, once every port is open).
        self.read_until(MEDIBUS, MEDIBUS_INITIALISE)

    def _read_every_port(self) -> None:
        by_socket = {connection: port for port, connection in enumerate(self.ports)}
        while not self.stopped:
            ready, _, _ = select.select(self.ports, [], [], 0.1)
            for connection in ready:
                data = connection.recv(65536)
                if not data:
                    return
                with self.arrived:
                    self.received[by_socket[connection]] += data
                    self.arrived.notify_all()

    def read_until(self, port: int, wanted: bytes, seconds: float = 10) -> bytes:
        with self.arrived:
            found = self.arrived.wait_for(lambda: wanted in self.received[port], timeout=seconds)
            assert found, f"port {port} never sent {wanted!r}: {self.received[port][-200:]!r}"
            return self.received[port]

    def forget(self, port: int) -> None:
        with self.arrived:
            self.received[port] = b""

    def gateway(self, seconds: float, *, away: bool = False, forged_key: bytes | None = None) -> list[Hello | Record]:
        """Serve the uplink for `seconds` with the gateway; return every authentic frame the collector sent. A
        gateway `away` answers nothing (what the collector sends is lost); with `forged_key` each record gets an
        acknowledgement MAC'd with that key instead."""
        deadline, arrived = time.monotonic() + seconds, []
        while (left := deadline - time.monotonic()) > 0:
            with self.arrived:
                self.arrived.wait_for(lambda: len(self.received[UPLINK]) > self.uplink_read, timeout=left)
                data = self.received[UPLINK][self.uplink_read :]
                self.uplink_read += len(data)
            for frame in self.unstuffer.feed(data):
                message = uplink.parse(frame, {COLLECTOR: KEY})
                arrived.append(message)
                if away:
                    continue
                answer: bytes | None
                if forged_key and isinstance(message, Record):
                    answer = uplink.acknowledgement(COLLECTOR, forged_key, message.session, message.sequence)
                else:
                    answer = self.real_gateway.receive(frame)
                if answer:
                    self.ports[UPLINK].sendall(answer)
        return arrived

    @property
    def records(self) -> list[StoredReading]:
        return self.store.readings(COLLECTOR, "0", "9")

    def gateway_until(self, wanted: Read, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while wanted not in {as_read(record) for record in self.records}:
            assert time.monotonic() < deadline, f"no record like {wanted} among {self.records[-10:]}"
            self.gateway(0.3)

    def close(self) -> None:
        self.stopped = True
        self.reader.join()
        for connection in self.ports:
            connection.close()
        self.process.kill()
        self.process.wait()


# What an instrument said, as the gateway stored it: its port and the reading (without session or sequence).
Read = tuple[int, Reading]


def as_read(stored: StoredReading) -> Read:
    return stored.port, Reading(stored.metric, stored.unit, stored.mantissa, stored.exponent, stored.device_time)


def reading(port: int, metric: int, unit: int, mantissa: int, exponent: int, *, at: int) -> Read:
    return port, Reading(metric, unit, mantissa, exponent, at)


@pytest.fixture(scope="module")
def elf() -> Path:
    if shutil.which("qemu-system-arm") is None:
        pytest.fail("qemu-system-arm is missing: make firmware-test installs it")
    subprocess.run(["make", "-C", str(FIRMWARE), "elf"], check=True, capture_output=True)
    return ELF


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
        chains = {(record.chain, record.sequence) for record in store.readings(COLLECTOR, "0", "9")}
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


def play_instruments(board: Board, cabling: Cabling, stop: threading.Event) -> None:
    """The instruments' ends of ports 0-5 until `stop`: what the board's reader read on each port since the
    boot goes to its instrument (QEMU takes one connection per UART, so the board's are the only ones), and
    every instrument's answers and transmissions go out on it."""
    ports = range(len(cabling.lines))
    read = [0 for _ in ports]
    while not stop.is_set():
        with board.arrived:
            board.arrived.wait(timeout=PASS_SECONDS)
            fresh = [board.received[port][read[port] :] for port in ports]
        for port, data in zip(ports, fresh, strict=True):
            if data:
                read[port] += len(data)
                cabling.heard(port, data)
        cabling.tick()


def test_six_simulated_instruments_reach_the_gateway_with_exactly_the_values_they_sent(
    elf: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "gateway.sqlite")
    board = Board(tmp_path, store)
    room = OperatingRoom(SURGERY_START, seed=17)
    cabling = Cabling(room, board.ports[:UPLINK])
    stop = threading.Event()
    instruments = threading.Thread(target=play_instruments, args=(board, cabling, stop))
    instruments.start()
    deadline = time.monotonic() + SURGERY_DEADLINE_SECONDS
    try:
        board.gateway(SURGERY_SECONDS)
        while {record.port for record in board.records} != set(range(UPLINK)):
            assert time.monotonic() < deadline, f"not every instrument reached the gateway: {cabling.traffic()}"
            board.gateway(0.5)
    finally:
        stop.set()
        instruments.join()
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
    polls = room.intellivue.polls
    assert len(polls) >= SURGERY_SECONDS // 2
    assert polls == list(range(polls[0], polls[0] + len(polls)))


def test_the_elf_is_the_same_built_from_another_folder(elf: Path, tmp_path: Path) -> None:
    """Reproducible: no build path or date goes into the ELF, so a second build elsewhere hashes the same."""
    copy = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, copy, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["make", "-C", str(copy), "elf"], check=True, capture_output=True)
    assert (copy / "build" / "arm" / "collector.elf").read_bytes() == elf.read_bytes()
