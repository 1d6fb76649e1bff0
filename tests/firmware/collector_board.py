"""The collector's ELF on QEMU's netduinoplus2 (an STM32F405), for the tests that play its instruments and its
gateway: each UART a Unix socket of QEMU's (nothing touches a network), the board's identity and key loaded into
its provisioning flash sector as the playbook would, the gateway (medledger_collector_gateway) on the uplink."""

from __future__ import annotations

import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
MEDIBUS_INITIALISE = medibus.frame(medibus.ESC, medibus.ICC)


def build_elf() -> Path:
    """The collector's ELF, built (or found up to date) by the firmware's Makefile; QEMU must be installed."""
    if shutil.which("qemu-system-arm") is None:
        raise RuntimeError("qemu-system-arm is missing: make firmware-test installs it")
    subprocess.run(["make", "-C", str(FIRMWARE), "elf"], check=True, capture_output=True)
    return ELF


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
        return self.store.readings(COLLECTOR)

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


@contextmanager
def instruments_playing(board: Board, room: OperatingRoom) -> Iterator[Cabling]:
    """`room`'s six instruments on the board's ports 0-5 while the block runs."""
    cabling = Cabling(room, board.ports[:UPLINK])
    stop = threading.Event()
    playing = threading.Thread(target=play_instruments, args=(board, cabling, stop))
    playing.start()
    try:
        yield cabling
    finally:
        stop.set()
        playing.join()
