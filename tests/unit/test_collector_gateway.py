"""The gateway's rules over a real SQLite store: sessions across boots and replays, readings stored once and
in order, refusals logged with their reason, and the surgery's SHR."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medledger_collector_gateway.cli import KeysError, load_keys
from medledger_collector_gateway.gateway import Gateway
from medledger_collector_gateway.shr import surgical_health_record
from medledger_collector_gateway.store import Store
from medledger_collector_gateway.uplink import stuff, unstuffer

COLLECTOR = b"collector-or3-01"
KEY = bytes(range(1, 33))
SPO2, PERCENT = 150456, 262688


def sealed(body: bytes, key: bytes = KEY) -> bytes:
    return body + hmac.new(key, body, hashlib.sha256).digest()[:16]


def hello(session: int) -> bytes:
    return sealed(struct.pack(">cB16sI", b"H", 2, COLLECTOR, session))


def record(session: int, sequence: int, value: int = 98, key: bytes = KEY) -> bytes:
    body = struct.pack(">cB16sIIBIIibI", b"R", 2, COLLECTOR, session, sequence, 4, SPO2, PERCENT, value, 0, 0)
    return sealed(body, key)


def answer(gateway: Gateway, frame: bytes) -> tuple[bytes, int, int] | None:
    """The gateway's answer: its type and its two numbers, or None."""
    stuffed = gateway.receive(frame)
    if stuffed is None:
        return None
    (unstuffed,) = unstuffer().feed(stuffed)
    kind, _, collector, first, second = struct.unpack(">cB16sII", unstuffed[:26])
    assert collector == COLLECTOR
    assert unstuffed[26:] == hmac.new(KEY, unstuffed[:26], hashlib.sha256).digest()[:16]
    return kind, first, second


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "gateway.sqlite")


@pytest.fixture
def gateway(store: Store) -> Gateway:
    return Gateway(store, {COLLECTOR: KEY})


def stored(store: Store) -> list[tuple[int, int, int]]:
    everything = store.readings(COLLECTOR)
    return [(reading.chain, reading.sequence, reading.mantissa) for reading in everything]


def test_each_boot_gets_a_new_session_and_its_sequences_start_again(gateway: Gateway, store: Store) -> None:
    assert answer(gateway, hello(0)) == (b"S", 0, 1)
    assert answer(gateway, record(1, 1, 97)) == (b"A", 1, 1)
    assert answer(gateway, hello(0)) == (b"S", 0, 2)
    assert answer(gateway, record(2, 1, 96)) == (b"A", 2, 1)
    assert stored(store) == [(1, 1, 97), (2, 1, 96)]


def test_a_record_is_stored_once_in_order_and_a_gap_is_refused_with_its_reason(
    gateway: Gateway, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    answer(gateway, hello(0))
    assert answer(gateway, record(1, 1)) == (b"A", 1, 1)
    assert answer(gateway, record(1, 2)) == (b"A", 1, 2)
    assert answer(gateway, record(1, 1, 55)) == (b"A", 1, 2), "a record sent again is acknowledged again"
    with caplog.at_level(logging.WARNING):
        assert answer(gateway, record(1, 4)) is None
    assert "record 4 of b'collector-or3-01' session 1 out of order: the next is 3" in caplog.text
    assert stored(store) == [(1, 1, 98), (1, 2, 98)]


def test_a_record_of_a_past_session_replayed_after_a_boot_is_refused(
    gateway: Gateway, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    answer(gateway, hello(0))
    answer(gateway, record(1, 1))
    answer(gateway, hello(0))
    with caplog.at_level(logging.WARNING):
        assert answer(gateway, record(1, 2)) is None
        assert answer(gateway, record(9, 1)) is None
    assert "record 2 of b'collector-or3-01' in session 1, not 2" in caplog.text
    assert stored(store) == [(1, 1, 98)]


def test_a_collector_left_behind_by_a_replayed_hello_continues_its_chain(gateway: Gateway, store: Store) -> None:
    answer(gateway, hello(0))
    answer(gateway, record(1, 1))
    answer(gateway, record(1, 2))
    assert answer(gateway, hello(1)) == (b"S", 1, 1), "asking again for the current session changes nothing"
    answer(gateway, hello(0))  # replayed by someone on the line: session 2, a new chain
    assert answer(gateway, record(1, 3)) is None
    assert answer(gateway, hello(1)) == (b"S", 1, 3)
    assert answer(gateway, record(3, 2)) == (b"A", 3, 2), "already stored in the chain: not stored again"
    assert answer(gateway, record(3, 3)) == (b"A", 3, 3)
    assert stored(store) == [(1, 1, 98), (1, 2, 98), (1, 3, 98)]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (record(1, 2, key=bytes(32)), "bad MAC"),
        (record(7, 2), "in session 7, not 1"),
        (b"\x00" * 60, "unknown collector"),
    ],
)
def test_a_forged_or_unknown_frame_gets_no_answer_a_logged_reason_and_changes_nothing(
    gateway: Gateway, store: Store, caplog: pytest.LogCaptureFixture, frame: bytes, reason: str
) -> None:
    answer(gateway, hello(0))
    answer(gateway, record(1, 1))
    with caplog.at_level(logging.WARNING):
        assert answer(gateway, frame) is None
    assert reason in caplog.text
    assert stored(store) == [(1, 1, 98)]
    assert store.current(COLLECTOR) is not None and store.current(COLLECTOR).session == 1  # type: ignore[union-attr]


def test_a_gateway_that_lost_its_store_takes_the_collectors_held_readings_from_where_they_start(
    gateway: Gateway, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A collector in session 7 of a gateway whose store is gone (or another gateway's): it is not left refused."""
    with caplog.at_level(logging.WARNING):
        assert answer(gateway, hello(7)) == (b"S", 7, 1)
    assert "names session 7, which this gateway never granted" in caplog.text
    assert answer(gateway, record(1, 40)) == (b"A", 1, 40)
    assert answer(gateway, record(1, 41)) == (b"A", 1, 41)
    assert answer(gateway, record(1, 43)) is None
    assert answer(gateway, record(1, 40)) == (b"A", 1, 41)
    assert stored(store) == [(1, 40, 98), (1, 41, 98)]


def test_the_surgerys_record_holds_what_arrived_during_it_with_decimal_values(gateway: Gateway, store: Store) -> None:
    answer(gateway, hello(0))
    start = datetime.now(UTC)
    body = struct.pack(">cB16sIIBIIibI", b"R", 2, COLLECTOR, 1, 1, 0, 150344, 268192, 3655, -2, 1795838400)
    answer(gateway, sealed(body))
    answer(gateway, record(1, 2))
    document = json.loads(surgical_health_record(store, COLLECTOR, start, datetime.now(UTC)))
    assert document["kind"] == "medledger.surgical-health-record"
    assert [(reading["sequence"], reading["value"]) for reading in document["readings"]] == [(1, "36.55"), (2, "98")]
    assert document["readings"][0]["device_time"] == "2026-11-28T04:00:00+00:00"
    assert document["readings"][1]["device_time"] is None
    later = start + timedelta(hours=1)
    assert json.loads(surgical_health_record(store, COLLECTOR, later, later))["readings"] == []
    with pytest.raises(ValueError, match="aware datetimes"):
        surgical_health_record(store, COLLECTOR, start.replace(tzinfo=None), later)


def test_a_keys_file_others_can_read_or_with_a_short_key_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({COLLECTOR.decode(): KEY.hex()}))
    keys.chmod(0o644)
    with pytest.raises(KeysError, match="chmod 0600"):
        load_keys(keys)
    keys.chmod(0o600)
    assert load_keys(keys) == {COLLECTOR: KEY}
    keys.write_text(json.dumps({COLLECTOR.decode(): KEY.hex()[:-2]}))
    with pytest.raises(KeysError, match="32-byte key"):
        load_keys(keys)


def test_the_served_uplink_answers_a_hello_and_the_gateway_exits_non_zero_when_it_closes(tmp_path: Path) -> None:
    """`medledger-collector-gateway serve` against a stand-in for QEMU's UART socket."""
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({COLLECTOR.decode(): KEY.hex()}))
    keys.chmod(0o600)
    uart = tmp_path / "uart6.sock"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(uart))
        listening.listen(1)
        listening.settimeout(10)
        command = ["serve", "--database", str(tmp_path / "gateway.sqlite"), "--keys", str(keys), "--uplink", str(uart)]
        gateway = subprocess.Popen([sys.executable, "-m", "medledger_collector_gateway.cli", *command])
        try:
            board, _ = listening.accept()
            with board:
                board.sendall(b"\x55garbage" + stuff(hello(0)))
                board.settimeout(10)
                (grant,) = unstuffer().feed(board.recv(4096))
            assert gateway.wait(timeout=10) == 1, "a closed uplink ends the gateway with an error, to be restarted"
        finally:
            gateway.kill()
    assert grant[:1] == b"S" and struct.unpack(">II", grant[18:26]) == (0, 1)


def test_status_counts_each_collectors_sessions_and_readings_and_refuses_a_missing_database(tmp_path: Path) -> None:
    database = tmp_path / "gateway.sqlite"
    store = Store(database)
    gateway = Gateway(store, {COLLECTOR: KEY})
    answer(gateway, hello(0))
    answer(gateway, record(1, 1))
    answer(gateway, record(1, 2))
    answer(gateway, hello(0))
    store.close()

    def status(path: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "medledger_collector_gateway.cli", "status", "--database", str(path)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    found = json.loads(status(database).stdout)
    assert list(found) == [COLLECTOR.decode()]
    assert found[COLLECTOR.decode()]["sessions"] == 2
    assert found[COLLECTOR.decode()]["readings"] == 2
    assert found[COLLECTOR.decode()]["last_received"].startswith(str(datetime.now(UTC).year))
    missing = status(tmp_path / "nowhere.sqlite")
    assert missing.returncode == 2 and "no such gateway database" in missing.stderr
    assert not (tmp_path / "nowhere.sqlite").exists()
