"""Appointments as a patient and a doctor use them: the patient books with a doctor at its hospital's manager,
the doctor lists its appointments and opens each TSK with its enrolment key."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api.appointments import Appointment, AppointmentRequest, Tsk

from .sealed_box import TSK_CONTEXT, SealedBoxError, open_sealed
from .service_client import ServiceClient

AUDIENCE = "hospital-manager"


def book(manager: ServiceClient, doctor: str, disease: str) -> Appointment:
    body = AppointmentRequest(doctor=doctor, disease=disease)
    return Appointment.model_validate(manager.call("POST", "/appointments", body))


def mine(manager: ServiceClient) -> list[Appointment]:
    return [Appointment.model_validate(item) for item in manager.call("GET", "/appointments")]


def open_tsk(doctor_key: ec.EllipticCurvePrivateKey, appointment: Appointment) -> Tsk:
    """The TSK sealed to the doctor; SealedBoxError when it is not theirs or was altered, or names another
    appointment."""
    if appointment.sealed_tsk is None:
        raise SealedBoxError(f"appointment {appointment.tid} carries no TSK (only its doctor is shown one)")
    tsk = Tsk.model_validate_json(open_sealed(doctor_key, base64.b64decode(appointment.sealed_tsk), TSK_CONTEXT))
    if (tsk.tid, tsk.pid) != (appointment.tid, appointment.patient):
        raise SealedBoxError(f"the TSK of appointment {appointment.tid} names another appointment")
    return tsk
