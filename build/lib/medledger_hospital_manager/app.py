"""The hospital manager service: appointments for one hospital's patients and doctors."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from medledger_api.signed_request import NonceStore
from medledger_service_base.app import create_app
from medledger_service_base.database import Database, PostgresNonces
from medledger_service_base.directory import Directory, RegistryDirectory
from medledger_service_base.server import run

from .routers import appointments
from .settings import HospitalManagerSettings
from .store import AppointmentStore, PostgresAppointmentStore


def build(
    settings: HospitalManagerSettings, store: AppointmentStore, directory: Directory, nonces: NonceStore
) -> FastAPI:
    app = create_app(settings, nonces, [appointments.router], title=f"MedLedger hospital manager ({settings.hospital})")
    app.state.store = store
    app.state.directory = directory
    return app


def _deployed(settings: HospitalManagerSettings, database: Database | None) -> FastAPI:
    assert database is not None  # the settings are stateful: server.run made it
    return build(
        settings,
        PostgresAppointmentStore(database),
        RegistryDirectory(settings.registry, settings.identity, settings.msp_id),
        PostgresNonces(database),
    )


def main(argv: list[str] | None = None) -> int:
    return run("hospital_manager", HospitalManagerSettings, _deployed, argv)


if __name__ == "__main__":
    sys.exit(main())
