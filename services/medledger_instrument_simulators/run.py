"""The six simulated instruments on a running collector's instrument UARTs (QEMU's Unix sockets, or serial
bridges), all in one thread: it reads every socket all the time, since QEMU blocks on a UART socket nobody
reads, and writes each instrument's answers and its own transmissions as the socket takes them, so a UART the
firmware reads slowly holds up no other.

medledger-instrument-simulators --uart-dir DIR [--seconds N] [--seed S] [--start ISO]
    DIR holds uart0.sock ... uart5.sock, the collector's ports 0-5 (QEMU's -serial 0..5); a JSON summary of
    what each instrument sent and received is printed when N seconds have passed, or on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .datex import Datex
from .hl7 import Hl7Monitor
from .instrument import Instrument, Reading
from .intellivue import IntelliVue
from .masimo import Masimo
from .medibus import Medibus
from .nonin import Nonin
from .traces import SurgeryTrace

# The instruments in the order of the collector's ports (firmware/src/app/main.c's wiring).
INSTRUMENT_NAMES = ("datex", "intellivue", "medibus", "hl7", "masimo", "nonin")
# Nonin's frames are 13 ms apart: a pass at least this often keeps every instrument on its timing.
PASS_SECONDS = 0.005


class OperatingRoom:
    """One operating room's six instruments, reading one surgery's trace, by the collector's port."""

    def __init__(self, start: datetime, seed: int) -> None:
        trace = SurgeryTrace(seed)
        self.datex = Datex(trace, start)
        self.intellivue = IntelliVue(trace, start)
        self.medibus = Medibus(trace)
        self.hl7 = Hl7Monitor(trace, start)
        self.masimo = Masimo(trace, start)
        self.nonin = Nonin(trace)
        self.instruments: tuple[Instrument, ...] = (
            self.datex,
            self.intellivue,
            self.medibus,
            self.hl7,
            self.masimo,
            self.nonin,
        )

    def expected_readings(self) -> dict[int, list[Reading]]:
        """By port, every reading the collector should have forwarded from what the instruments sent so far."""
        return {port: list(instrument.readings) for port, instrument in enumerate(self.instruments)}


@dataclass
class Line:
    """One instrument on its UART socket, with what it has yet to write there."""

    instrument: Instrument
    connection: socket.socket
    queued: bytearray = field(default_factory=bytearray)
    bytes_sent: int = 0
    bytes_received: int = 0

    def heard(self, data: bytes, now: float) -> None:
        self.bytes_received += len(data)
        self.queued += self.instrument.receive(data, now)
        self.flush()

    def tick(self, now: float) -> None:
        self.queued += self.instrument.tick(now)
        self.flush()

    def flush(self) -> None:
        if not self.queued:
            return
        try:
            written = self.connection.send(self.queued, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        del self.queued[:written]
        self.bytes_sent += written


class Cabling:
    """An operating room's instruments connected to the collector's ports 0-5; the surgery's clock (every
    instrument's `now`) starts when they are connected."""

    def __init__(
        self, room: OperatingRoom, connections: Sequence[socket.socket], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.room = room
        self.lines = [
            Line(instrument, connection) for instrument, connection in zip(room.instruments, connections, strict=True)
        ]
        self._clock = clock
        self._started = clock()

    def elapsed(self) -> float:
        return self._clock() - self._started

    def heard(self, port: int, data: bytes) -> None:
        """Bytes the collector sent on `port`, to its instrument."""
        self.lines[port].heard(data, self.elapsed())

    def tick(self) -> None:
        now = self.elapsed()
        for line in self.lines:
            line.tick(now)

    def traffic(self) -> dict[str, dict[str, int]]:
        """By instrument: the bytes it sent and received."""
        return {
            name: {"sent": line.bytes_sent, "received": line.bytes_received}
            for name, line in zip(INSTRUMENT_NAMES, self.lines, strict=True)
        }

    def run(self, stop: threading.Event) -> None:
        """Serve every line until `stop` is set or the collector's end closes."""
        ports = {line.connection: port for port, line in enumerate(self.lines)}
        while not stop.is_set():
            writing = [line.connection for line in self.lines if line.queued]
            readable, _, _ = select.select(list(ports), writing, [], PASS_SECONDS)
            for connection in readable:
                data = connection.recv(65536)
                if not data:
                    return
                self.heard(ports[connection], data)
            self.tick()


def connect(paths: Sequence[Path]) -> list[socket.socket]:
    """A connection to each of the instrument UARTs' Unix sockets, in port order."""
    connections = []
    try:
        for path in paths:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connections.append(connection)
            connection.connect(str(path))
    except OSError:
        for connection in connections:
            connection.close()
        raise
    return connections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="medledger-instrument-simulators",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--uart-dir", required=True, type=Path, help="the folder of uart0.sock ... uart5.sock")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: on SIGTERM or SIGINT)")
    parser.add_argument("--seed", type=int, default=1, help="the surgery trace's seed")
    parser.add_argument(
        "--start", type=datetime.fromisoformat, help="the instruments' clocks at the start, ISO 8601 with an offset"
    )
    args = parser.parse_args(argv)
    try:
        room = OperatingRoom(args.start or datetime.now(UTC), args.seed)
        connections = connect([args.uart_dir / f"uart{port}.sock" for port in range(len(INSTRUMENT_NAMES))])
    except (OSError, ValueError) as failed:
        print(f"medledger-instrument-simulators: {failed}", file=sys.stderr)
        return 2
    cabling = Cabling(room, connections)
    stop = threading.Event()
    for stopping in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stopping, lambda *_: stop.set())
    timer = threading.Timer(args.seconds, stop.set) if args.seconds is not None else None
    if timer:
        timer.start()
    try:
        cabling.run(stop)
    finally:
        if timer:
            timer.cancel()
        for connection in connections:
            connection.close()
    readings = room.expected_readings()
    summary = {
        name: {**traffic, "readings": len(readings[port])}
        for port, (name, traffic) in enumerate(cabling.traffic().items())
    }
    print(json.dumps({"instruments": summary, "hl7_unacknowledged": room.hl7.unacknowledged}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
