"""The hospital manager's routes (medledger_hospital_manager): only the registered holder of a patient's pseudonym
books, only with a doctor of this hospital, and only that doctor opens the TSK. The directory and the store are
stand-ins here; tests/infra/test_services.py runs the deployed service with the lab's registry."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient

from medledger_api.appointments import Appointment
from medledger_api.common import Role
from medledger_api.registry import DirectoryEntry, SharingKeysPublication
from medledger_client.appointments import AUDIENCE, open_tsk
from medledger_client.sealed_box import SealedBoxError
from medledger_client.service_client import ServiceError
from medledger_hospital_manager.app import build
from medledger_hospital_manager.settings import HospitalManagerSettings
from medledger_hospital_manager.store import StoredAppointment
from medledger_service_base.database import DatabaseSettings
from medledger_service_base.settings import RegistryEndpoint, TLSFiles

from ..openapi_conformance import assert_conforms
from .certificates import Issued
from .organisations import Nonces, Organisation, User, send_signed, user_certificate

KEYS = SharingKeysPublication(public_key="02" + "1" * 64, verifying_key="03" + "2" * 64, signature="")


class MemoryStore:
    def __init__(self) -> None:
        self.rows: list[StoredAppointment] = []

    def add(self, appointment: StoredAppointment) -> None:
        self.rows.append(appointment)

    def of_patient(self, pid: str) -> list[StoredAppointment]:
        return [row for row in self.rows if row.patient == pid]

    def of_doctor(self, pid: str) -> list[StoredAppointment]:
        return [row for row in self.rows if row.doctor == pid]


class Directory:
    def __init__(self) -> None:
        self.entries: dict[str, DirectoryEntry] = {}

    def register(self, user: Issued, msp_id: str, role: Role) -> Issued:
        pid = str(user.certificate.subject.rfc4514_string()).removeprefix("CN=")
        certificate = user.certificate.public_bytes(Encoding.PEM).decode()
        self.entries[pid] = DirectoryEntry(
            pid=pid, msp_id=msp_id, role=role, certificate=certificate, sharing_keys=KEYS
        )
        return user

    def look_up(self, pid: str) -> DirectoryEntry:
        if pid not in self.entries:
            raise ServiceError(404, "no published keys for this pseudonym")
        return self.entries[pid]


@dataclasses.dataclass
class Manager:
    client: TestClient
    store: MemoryStore
    directory: Directory
    patient: Issued
    doctor: Issued

    def send(self, user: Issued, method: str, body: dict[str, str] | None = None) -> httpx2.Response:
        return send_signed(self.client, user, method, "/appointments", body, audience=AUDIENCE)

    def book(self, user: Issued, doctor: Issued, disease: str = "appendicitis, suspected") -> httpx2.Response:
        return self.send(user, "POST", {"doctor": pid_of(doctor), "disease": disease})


def pid_of(user: Issued) -> str:
    return str(user.certificate.subject.rfc4514_string()).removeprefix("CN=")


def pid(digit: str) -> str:
    return "pid-" + digit * 60


@pytest.fixture
def manager(tmp_path: Path, hospital: Organisation, third_party: Organisation) -> Iterator[Manager]:
    settings = HospitalManagerSettings(
        audience=AUDIENCE,
        host="127.0.0.1",
        port=8444,
        tls=TLSFiles(certificate=tmp_path / "tls.crt", key=tmp_path / "tls.key"),
        organisations={org.msp_id: org.write(tmp_path) for org in (hospital, third_party)},
        database=DatabaseSettings(
            name="hospital_manager", user="hospital_manager", password_file=tmp_path, server_ca=tmp_path
        ),
        hospital="peerxinqiao",
        msp_id=hospital.msp_id,
        identity=tmp_path,
        registry=RegistryEndpoint(address="registry:8443", tls_ca_files=(tmp_path,)),
    )
    directory = Directory()
    patient = user_certificate(pid("1"), hospital.ca, {"medledger.role": "patient"})
    doctor = user_certificate(pid("2"), hospital.ca, {"medledger.role": "doctor"})
    directory.register(patient, hospital.msp_id, Role.PATIENT)
    directory.register(doctor, hospital.msp_id, Role.DOCTOR)
    store = MemoryStore()
    with TestClient(build(settings, store, directory, Nonces())) as client:
        yield Manager(client, store, directory, patient, doctor)


def test_a_patient_books_and_only_the_doctor_opens_the_tsk(manager: Manager) -> None:
    booked = manager.book(manager.patient, manager.doctor)
    assert booked.status_code == 201, booked.text
    appointment = Appointment.model_validate(booked.json())
    assert (appointment.patient, appointment.doctor, appointment.sealed_tsk) == (pid("1"), pid("2"), None)
    assert b"appendicitis" not in manager.store.rows[0].sealed_tsk

    (seen,) = [Appointment.model_validate(item) for item in manager.send(manager.doctor, "GET").json()]
    tsk = open_tsk(manager.doctor.key, seen)
    assert (tsk.pid, tsk.tid, tsk.disease) == (pid("1"), appointment.tid, "appendicitis, suspected")
    assert tsk.patient_certificate.encode() == manager.patient.certificate.public_bytes(Encoding.PEM)
    with pytest.raises(SealedBoxError):
        open_tsk(manager.patient.key, seen)
    (own,) = manager.send(manager.patient, "GET").json()
    assert (own["tid"], own["sealed_tsk"]) == (appointment.tid, None)


def test_a_tsk_moved_to_another_appointment_does_not_open_as_it(manager: Manager) -> None:
    manager.book(manager.patient, manager.doctor, "first")
    manager.book(manager.patient, manager.doctor, "second")
    first, second = (Appointment.model_validate(item) for item in manager.send(manager.doctor, "GET").json())
    swapped = first.model_copy(update={"sealed_tsk": second.sealed_tsk})
    with pytest.raises(SealedBoxError, match="names another appointment"):
        open_tsk(manager.doctor.key, swapped)
    tampered = base64.b64decode(str(first.sealed_tsk))
    altered = first.model_copy(
        update={"sealed_tsk": base64.b64encode(tampered[:-1] + bytes([tampered[-1] ^ 1])).decode()}
    )
    with pytest.raises(SealedBoxError):
        open_tsk(manager.doctor.key, altered)


def test_only_the_registered_holder_of_a_patients_pseudonym_books(
    manager: Manager, hospital: Organisation, third_party: Organisation
) -> None:
    same_name_other_key = user_certificate(pid("1"), hospital.ca, {"medledger.role": "patient"})
    unregistered = user_certificate(pid("3"), hospital.ca, {"medledger.role": "patient"})
    outsider = manager.directory.register(
        user_certificate(pid("4"), third_party.ca, {"medledger.role": "patient"}), third_party.msp_id, Role.PATIENT
    )
    answers = {
        "the doctor": manager.book(manager.doctor, manager.doctor),
        "another key under the patient's pseudonym": manager.book(same_name_other_key, manager.doctor),
        "an unregistered pseudonym": manager.book(unregistered, manager.doctor),
        "another organisation's patient": manager.book(outsider, manager.doctor),
    }
    assert {who: answer.status_code for who, answer in answers.items()} == dict.fromkeys(answers, 403)
    assert manager.store.rows == []


def test_the_doctor_must_be_one_of_this_hospitals(manager: Manager, third_party: Organisation) -> None:
    elsewhere = manager.directory.register(
        user_certificate(pid("5"), third_party.ca, {"medledger.role": "doctor"}), third_party.msp_id, Role.DOCTOR
    )
    answers = [manager.book(manager.patient, doctor) for doctor in (elsewhere, manager.patient)]
    unknown = manager.send(manager.patient, "POST", {"doctor": pid("6"), "disease": "x"})
    assert [answer.status_code for answer in [*answers, unknown]] == [422, 422, 422]
    assert unknown.json()["detail"] == "the doctor is not in the registry's directory"
    assert manager.store.rows == []


def test_a_registry_that_cannot_be_reached_is_a_502_and_books_nothing(manager: Manager) -> None:
    def unreachable(pid: str) -> DirectoryEntry:
        raise ServiceError(0, "registry at registry:8443: connection refused")

    manager.directory.look_up = unreachable  # type: ignore[method-assign]
    answer = manager.book(manager.patient, manager.doctor)
    assert answer.status_code == 502 and "connection refused" in answer.json()["detail"]
    assert manager.store.rows == []


def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_openapi_document(manager: Manager) -> None:
    for caller in (manager.patient, manager.doctor):
        assert_conforms(manager.client.app, User(caller), AUDIENCE)  # type: ignore[arg-type]
