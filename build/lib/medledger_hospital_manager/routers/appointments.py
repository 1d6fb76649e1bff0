"""Appointments (the paper's phase ②): the manager checks that the patient is the registered holder of its
pseudonym and the doctor one of this hospital's, issues a TID and seals the TSK to the doctor."""

from __future__ import annotations

import base64
import datetime
import secrets
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Depends, HTTPException, status

from medledger_api.appointments import Appointment, AppointmentRequest, Tsk
from medledger_api.common import Role
from medledger_api.signed_request import Caller
from medledger_client.sealed_box import TSK_CONTEXT, seal
from medledger_service_base.app import refusals
from medledger_service_base.auth import caller_with
from medledger_service_base.directory import certificate_of, registered

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
    patient = registered(people, caller.enrolment_id, "the patient", absent=status.HTTP_403_FORBIDDEN)
    if patient.role is not Role.PATIENT or certificate_of(patient) != caller.certificate:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the certificate is not the registered patient's")
    doctor = registered(people, body.doctor, "the doctor", absent=status.HTTP_422_UNPROCESSABLE_CONTENT)
    if doctor.role is not Role.DOCTOR or doctor.msp_id != settings.msp_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"doctor: not a doctor of {settings.hospital}")
    doctor_key = certificate_of(doctor).public_key()
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


def _shown(stored: StoredAppointment, hospital: str, *, with_tsk: bool) -> Appointment:
    return Appointment(
        tid=stored.tid,
        patient=stored.patient,
        doctor=stored.doctor,
        hospital=hospital,
        created_at=stored.created_at,
        sealed_tsk=base64.b64encode(stored.sealed_tsk).decode() if with_tsk else None,
    )
