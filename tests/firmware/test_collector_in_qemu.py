"""The collector's ELF on QEMU's netduinoplus2 (an STM32F405): instruments on its UARTs, readings out of its
uplink. Each UART is a Unix socket of QEMU's, so nothing here touches a network."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medledger_tools.paths import REPO_ROOT

FIRMWARE = REPO_ROOT / "firmware"
ELF = FIRMWARE / "build" / "arm" / "collector.elf"
DATEX, INTELLIVUE, MEDIBUS, HL7, MASIMO, NONIN, UPLINK = range(7)
MASIMO_LINE = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=000800\r\n"
ORU = (
    b"MSH|^~\\&|MINDRAY|MINDRAY|CIS|HOSPITAL|20261128120000+0800||ORU^R01^ORU_R01|MSG00042|P|2.6\r"
    b"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.6.1.1|98|262688^MDC_DIM_PERCENT^MDC|||||R\r"
)
MEDIBUS_CURRENT_DATA = b"\x1b$3F\r"


def medibus_reply(command: int, data: bytes) -> bytes:
    checksum = (0x01 + command + sum(data)) & 0xFF
    return bytes([0x01, command]) + data + b"%02X\r" % checksum


class Board:
    """QEMU running the collector, with a connected socket per UART."""

    def __init__(self, folder: Path) -> None:
        serials = [
            arg for port in range(7) for arg in ("-serial", f"unix:{folder / f'uart{port}.sock'},server=on,wait=off")
        ]
        self.process = subprocess.Popen(
            [
                "qemu-system-arm",
                "-M",
                "netduinoplus2",
                "-nographic",
                "-monitor",
                "none",
                "-kernel",
                str(ELF),
                *serials,
                "-semihosting-config",
                "enable=on,target=native",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not (folder / "uart6.sock").exists():
            assert time.monotonic() < deadline, "QEMU made no UART sockets"
            time.sleep(0.05)
        self.ports = []
        for port in range(7):
            connection = socket.socket(socket.AF_UNIX)
            connection.connect(str(folder / f"uart{port}.sock"))
            connection.settimeout(0.2)
            self.ports.append(connection)
        self.received = {port: b"" for port in range(7)}

    def read_until(self, port: int, wanted: bytes, seconds: float = 10) -> bytes:
        deadline = time.monotonic() + seconds
        while wanted not in self.received[port]:
            assert time.monotonic() < deadline, f"port {port} never sent {wanted!r}: {self.received[port]!r}"
            with contextlib.suppress(TimeoutError):
                self.received[port] += self.ports[port].recv(4096)
        return self.received[port]

    def close(self) -> None:
        for connection in self.ports:
            connection.close()
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    if shutil.which("qemu-system-arm") is None:
        pytest.fail("qemu-system-arm is missing: make firmware-test installs it")
    subprocess.run(["make", "-C", str(FIRMWARE), "elf"], check=True, capture_output=True)
    running = Board(tmp_path_factory.mktemp("qemu"))
    yield running
    running.close()


def test_an_output_only_instrument_reaches_the_uplink_with_codes_units_and_its_clock(board: Board) -> None:
    board.ports[MASIMO].sendall(MASIMO_LINE)
    # SpO2 98 %, pulse 97 /min, PI 3.60 %, at 2016-02-22 22:47:45 UTC.
    uplink = board.read_until(UPLINK, b"R 4 150448 262688 360 -2 1456181265\n")
    assert b"R 4 150456 262688 98 0 1456181265\n" in uplink
    assert b"R 4 149530 264864 97 0 1456181265\n" in uplink


def test_an_hl7_message_is_acknowledged_and_its_observation_forwarded(board: Board) -> None:
    board.ports[HL7].sendall(b"\x0b" + ORU + b"\x1c\r")
    assert b"MSA|AA|MSG00042\r\x1c\r" in board.read_until(HL7, b"\x1c\r")
    board.read_until(UPLINK, b"R 3 150456 262688 98 0 1795838400\n")


def test_a_requesting_driver_asks_and_reads_the_answer(board: Board) -> None:
    board.read_until(MEDIBUS, MEDIBUS_CURRENT_DATA)
    board.ports[MEDIBUS].sendall(medibus_reply(0x24, b"EB  97E6  36"))
    board.read_until(UPLINK, b"R 2 150456 262688 97 0 0\n")
    board.read_until(UPLINK, b"R 2 151708 266016 36 0 0\n")


def test_garbage_streaming_on_one_port_does_not_stop_the_others(board: Board) -> None:
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                board.ports[DATEX].sendall(b"\x55" * 256)

    babbler = threading.Thread(target=babble)
    babbler.start()
    try:
        time.sleep(0.5)
        board.ports[MASIMO].sendall(MASIMO_LINE.replace(b"47:45", b"47:46"))
        board.read_until(UPLINK, b"R 4 150456 262688 98 0 1456181266\n")
    finally:
        stop.set()
        babbler.join()


def test_the_elf_is_the_same_built_from_another_folder(board: Board, tmp_path: Path) -> None:
    """Reproducible: no build path or date goes into the ELF, so a second build elsewhere hashes the same."""
    copy = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, copy, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["make", "-C", str(copy), "elf"], check=True, capture_output=True)
    assert (copy / "build" / "arm" / "collector.elf").read_bytes() == ELF.read_bytes()
