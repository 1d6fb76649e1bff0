"""The registry service (the paper's SA, run by the government): registrations and the certificate directory."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from medledger_api.signed_request import NonceStore
from medledger_service_base.app import create_app
from medledger_service_base.database import Database, PostgresNonces
from medledger_service_base.server import run

from .pseudonyms import RegistryKeys
from .registrars import FabricCaRegistrars, Registrars
from .routers import directory, registrations
from .settings import RegistrySettings
from .store import PostgresRegistryStore, RegistryStore


def build(settings: RegistrySettings, store: RegistryStore, registrars: Registrars, nonces: NonceStore) -> FastAPI:
    app = create_app(settings, nonces, [registrations.router, directory.router], title="MedLedger registry")
    app.state.store = store
    app.state.registrars = registrars
    app.state.keys = RegistryKeys.from_files(settings.rid_encryption_key_file, settings.rid_lookup_key_file)
    return app


def _deployed(settings: RegistrySettings, database: Database | None) -> FastAPI:
    assert database is not None  # RegistrySettings is stateful: server.run made it
    registrars = FabricCaRegistrars(settings.registrars, settings.ca_tls_root)
    return build(settings, PostgresRegistryStore(database), registrars, PostgresNonces(database))


def main(argv: list[str] | None = None) -> int:
    return run("registry", RegistrySettings, _deployed, argv)


if __name__ == "__main__":
    sys.exit(main())
