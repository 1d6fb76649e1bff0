"""The sharing proxy service: shares recorded on the Data Usage Channel before they are delivered."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from medledger_api.signed_request import NonceStore
from medledger_service_base.app import create_app
from medledger_service_base.database import Database, PostgresNonces
from medledger_service_base.directory import Directory, RegistryDirectory
from medledger_service_base.server import run

from .ledger import GatewayLedger, Grants, Ledger, StorageGrants
from .routers import shares
from .settings import SharingProxySettings
from .store import PostgresShareStore, ShareStore


def build(
    settings: SharingProxySettings,
    *,
    store: ShareStore,
    directory: Directory,
    ledger: Ledger,
    grants: Grants,
    nonces: NonceStore,
) -> FastAPI:
    app = create_app(settings, nonces, [shares.router], title="MedLedger sharing proxy")
    app.state.store = store
    app.state.directory = directory
    app.state.ledger = ledger
    app.state.grants = grants
    return app


def _deployed(settings: SharingProxySettings, database: Database | None) -> FastAPI:
    assert database is not None  # the settings are stateful: server.run made it
    return build(
        settings,
        store=PostgresShareStore(database),
        directory=RegistryDirectory(settings.registry, settings.identity, settings.msp_id),
        ledger=GatewayLedger(settings),
        grants=StorageGrants(settings),
        nonces=PostgresNonces(database),
    )


def main(argv: list[str] | None = None) -> int:
    return run("sharing_proxy", SharingProxySettings, _deployed, argv)


if __name__ == "__main__":
    sys.exit(main())
