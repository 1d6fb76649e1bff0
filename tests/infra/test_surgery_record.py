"""A surgery on the lab, end to end: the collector's ELF on QEMU (on the control node; its UARTs are Unix
sockets), the six simulated instruments streaming on its ports, the gateway on its uplink and away for 30 s in
the middle; then the surgery's SHR sealed with the patient's EMR, stored, indexed on the Patient Channel with
the doctor's and the patient's signatures, read back by the patient, verified and opened."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medledger_api.common import Role
from medledger_api.entities import PatientDataEntity, patient_signature_message
from medledger_api.signed_request import check_signature
from medledger_client import sharing, storage
from medledger_client.records import open_record, seal_record
from medledger_client.sharing_keys import unwrap_own
from medledger_collector_gateway.shr import KIND, surgical_health_record
from medledger_collector_gateway.store import Store
from medledger_collector_gateway.uplink import Record
from medledger_instrument_simulators.run import OperatingRoom
from medledger_tools.lab_clients import Ledger
from medledger_tools.lab_services import PATIENT_CHANNEL, Services

from ..firmware.collector_board import COLLECTOR, UPLINK, Board, as_read, build_elf, instruments_playing
from .conftest import deployed

LEDGER = Ledger(deployed())
SERVICES = Services(LEDGER)
OUTAGE_SECONDS = 30
REPLAY_DEADLINE_SECONDS = 60

pytestmark = pytest.mark.lab


def test_a_surgerys_record_reaches_the_patient_channel_through_an_uplink_outage_with_no_reading_lost(
    tmp_path: Path,
) -> None:
    build_elf()
    staff = SERVICES.staff(tmp_path)
    patient = SERVICES.register(staff["manager"], staff["sa"], "OrgPatient", Role.PATIENT)
    doctor = SERVICES.register(staff["manager"], staff["sa"], "OrgPatient", Role.DOCTOR)

    (tmp_path / "qemu").mkdir()
    store = Store(tmp_path / "gateway.sqlite")
    board = Board(tmp_path / "qemu", store)
    room = OperatingRoom(datetime.now(UTC), seed=29)
    start = datetime.now(UTC)
    try:
        with instruments_playing(board, room):
            board.gateway(10)
            lost = board.gateway(OUTAGE_SECONDS, away=True)
            taken = {port: list(readings) for port, readings in room.expected_readings().items()}
            deadline = time.monotonic() + REPLAY_DEADLINE_SECONDS
            while any(len(readings) > stored_on(board, port) for port, readings in taken.items()):
                assert time.monotonic() < deadline, "the readings taken during the outage never all arrived"
                board.gateway(1)
        end = datetime.now(UTC)
    finally:
        board.close()
    try:
        shr = surgical_health_record(store, COLLECTOR, start, end)
        stored = store.readings(COLLECTOR)
    finally:
        store.close()

    assert any(isinstance(message, Record) for message in lost), "the collector sent nothing during the outage"
    # No reading lost: every one an instrument sent before the outage ended was stored, in order, once.
    assert [(reading.chain, reading.sequence) for reading in stored] == [(1, n) for n in range(1, len(stored) + 1)]
    for port, readings in taken.items():
        assert [value for on, value in map(as_read, stored) if on == port][: len(readings)] == readings, port
    document = json.loads(shr)
    assert document["kind"] == KIND
    assert len(document["readings"]) == len(stored)
    assert {reading["port"] for reading in document["readings"]} == set(range(UPLINK))

    # The data client's phases ③ and ④ with the SHR: sealed with the EMR, stored, indexed and signed.
    emr, shr_file, sealed_file = tmp_path / "emr.bin", tmp_path / "shr.json", tmp_path / "record.sealed"
    emr.write_bytes(secrets.token_bytes(64 * 1024))
    shr_file.write_bytes(shr)
    sealed = seal_record(emr, shr_file, sealed_file, patient.keys.public_key)
    treatment = f"surgery-{secrets.token_hex(4)}"
    record = SERVICES.store_and_index(patient, doctor, treatment, sealed_file, sealed.digest)

    with patient.gateway(LEDGER.channel_peers(PATIENT_CHANNEL)[-1]) as gateway:
        contract = gateway.contract(PATIENT_CHANNEL, LEDGER.chaincode_on(PATIENT_CHANNEL))
        found = PatientDataEntity.from_wire(json.loads(contract.evaluate("QueryByPidAndTid", patient.pid, treatment)))
    assert found == record
    sharing.check_record_signature(found, patient.identity.certificate)
    check_signature(
        doctor.identity.certificate,
        base64.b64encode(bytes.fromhex(found.data_signature_doctor)).decode(),
        patient_signature_message(found.data_message_digest, patient.pid),
    )
    storage.fetch(SERVICES.client("storage", patient.identity), found.data_message_digest, tmp_path / "read.sealed")
    sharing.check_ciphertext(found, tmp_path / "read.sealed")
    open_record(
        tmp_path / "read.sealed",
        unwrap_own(patient.keys.secret_key, sealed.wrapped_key),
        tmp_path / "emr.read",
        tmp_path / "shr.read",
    )
    assert (tmp_path / "shr.read").read_bytes() == shr
    assert (tmp_path / "emr.read").read_bytes() == emr.read_bytes()


def stored_on(board: Board, port: int) -> int:
    return sum(1 for record in board.records if record.port == port)
