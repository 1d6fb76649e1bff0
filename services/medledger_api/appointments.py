"""What a hospital manager and its clients exchange (the paper's phase ②): a patient asks for an appointment with
a doctor, the manager issues a TID and seals the TSK (PID ‖ TID ‖ disease information ‖ patient certificate) to
the doctor."""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from .common import Base64, Model, Pid

Tid = Annotated[str, StringConstraints(pattern=r"^tid-[0-9a-f]{32}$")]


class AppointmentRequest(Model):
    doctor: Pid
    disease: str = Field(min_length=1, max_length=4096, description="what the doctor should know; sealed to them")


class Appointment(Model):
    tid: Tid
    patient: Pid
    doctor: Pid
    hospital: str = Field(description="the hospital whose manager issued the TID")
    created_at: datetime.datetime
    sealed_tsk: Base64 | None = Field(
        default=None, description="the TSK sealed to the doctor's enrolment key (HPKE); shown to the doctor only"
    )


class Tsk(Model):
    """The treatment secret key's content, as the doctor opens it."""

    pid: Pid
    tid: Tid
    disease: str
    patient_certificate: str = Field(description="PEM")
