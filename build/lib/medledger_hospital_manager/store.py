"""The hospital manager's database (migrations/0001): appointments."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

from psycopg import sql

from medledger_service_base.database import Database


@dataclass(frozen=True)
class StoredAppointment:
    tid: str
    patient: str
    doctor: str
    sealed_tsk: bytes
    created_at: datetime.datetime


class AppointmentStore(Protocol):
    def add(self, appointment: StoredAppointment) -> None: ...

    def of_patient(self, pid: str) -> list[StoredAppointment]: ...

    def of_doctor(self, pid: str) -> list[StoredAppointment]: ...


_SELECT = "SELECT tid, patient, doctor, sealed_tsk, created_at FROM appointments"
# The newest first; an appointment list is for the coming days, not an archive.
_LIMIT = 500


class PostgresAppointmentStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, appointment: StoredAppointment) -> None:
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO appointments (tid, patient, doctor, sealed_tsk, created_at) VALUES (%s, %s, %s, %s, %s)",
                (appointment.tid, appointment.patient, appointment.doctor, appointment.sealed_tsk,
                 appointment.created_at),
            )  # fmt: skip

    def of_patient(self, pid: str) -> list[StoredAppointment]:
        return self._of("patient", pid)

    def of_doctor(self, pid: str) -> list[StoredAppointment]:
        return self._of("doctor", pid)

    def _of(self, party: str, pid: str) -> list[StoredAppointment]:
        query = sql.SQL(_SELECT + " WHERE {} = %s ORDER BY created_at DESC LIMIT %s").format(sql.Identifier(party))
        with self.database.transaction() as connection:
            rows = connection.execute(query, (pid, _LIMIT)).fetchall()
        return [StoredAppointment(*row) for row in rows]
