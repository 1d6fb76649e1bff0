"""Appointments (the paper's phase ②): the manager checks that the patient is the registered holder of its
pseudonym and the doctor one of this hospital's, issues a TID and seals the TSK to the doctor."""

from __future__ import annotations

import base64
import datetime
import secrets
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Depends, HTTPException, status

from medledger_api.appointments import Appointment, AppointmentRequest, Tsk
from medledger_api.common import Role
from medledger_api.registry import DirectoryEntry
from medledger_api.signed_request import Caller
from medledger_client.registration import DirectoryError
from medledger_client.sealed_box import TSK_CONTEXT, seal
from medledger_client.service_client import ServiceError
from medledger_service_base.app import refusals
from medledger_service_base.auth import caller_with

from ..dependencies import People, Settings, Store
from ..store import StoredAppointment

router = APIRouter(prefix="/appointments", tags=["appointments"])
REFUSALS = refusals(403, 502)
Patient = Annotated[Caller, Depends(caller_with(roles=(Role.PATIENT.value,)))]
Party = Annotated[Caller, Depends(caller_with(roles=(Role.PATIENT.value, Role.DOCTOR.value)))]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Appointment, responses=REFUSALS)
def book(body: AppointmentRequest, caller: Patient, settings: Settings, store: Store, people: People) -> Appointment:
    if caller.msp_id != settings.msp_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{settings.hospital} books patients of {settings.msp_id} only")
    patient = _entry(people, caller.enrolment_id, "the patient")
    if patient.role is not Role.PATIENT or _certificate(patient) != caller.certificate:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the certificate is not the registered patient's")
    doctor = _entry(people, body.doctor, "the doctor")
    if doctor.role is not Role.DOCTOR or doctor.msp_id != settings.msp_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"doctor: not a doctor of {settings.hospital}")
    doctor_key = _certificate(doctor).public_key()
    if not isinstance(doctor_key, ec.EllipticCurvePublicKey):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "doctor: its certificate holds no P-256 key")
    tid = f"tid-{secrets.token_hex(16)}"
    tsk = Tsk(
        pid=caller.enrolment_id,
        tid=tid,
        disease=body.disease,
        patient_certificate=caller.certificate.public_bytes(Encoding.PEM).decode(),
    )
    stored = StoredAppointment(
        tid=tid,
        patient=caller.enrolment_id,
        doctor=body.doctor,
        sealed_tsk=seal(doctor_key, tsk.model_dump_json().encode(), TSK_CONTEXT),
        created_at=datetime.datetime.now(datetime.UTC),
    )
    store.add(stored)
    return _shown(stored, settings.hospital, with_tsk=False)


@router.get("", response_model=list[Appointment], responses=REFUSALS)
def appointments(caller: Party, settings: Settings, store: Store) -> list[Appointment]:
    """A patient's own appointments, or a doctor's with the TSKs sealed to them."""
    if caller.role == Role.DOCTOR.value:
        return [_shown(found, settings.hospital, with_tsk=True) for found in store.of_doctor(caller.enrolment_id)]
    return [_shown(found, settings.hospital, with_tsk=False) for found in store.of_patient(caller.enrolment_id)]


def _entry(people: People, pid: str, who: str) -> DirectoryEntry:
    try:
        return people.look_up(pid)
    except ServiceError as error:
        if error.status == status.HTTP_404_NOT_FOUND:
            code = status.HTTP_403_FORBIDDEN if who == "the patient" else status.HTTP_422_UNPROCESSABLE_CONTENT
            raise HTTPException(code, f"{who} is not in the registry's directory") from None
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the registry: {error}") from None
    except DirectoryError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None


def _certificate(entry: DirectoryEntry) -> x509.Certificate:
    return x509.load_pem_x509_certificate(entry.certificate.encode())


def _shown(stored: StoredAppointment, hospital: str, *, with_tsk: bool) -> Appointment:
    return Appointment(
        tid=stored.tid,
        patient=stored.patient,
        doctor=stored.doctor,
        hospital=hospital,
        created_at=stored.created_at,
        sealed_tsk=base64.b64encode(stored.sealed_tsk).decode() if with_tsk else None,
    )
