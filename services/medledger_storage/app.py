"""The storage service: encrypted records in the S3 store beside it, each read authorised and audited."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from medledger_api.signed_request import NonceStore
from medledger_service_base.app import create_app
from medledger_service_base.database import Database, PostgresNonces
from medledger_service_base.server import run

from .objects import ObjectStore, S3ObjectStore
from .routers import objects, reads
from .settings import StorageSettings
from .store import PostgresStorageStore, StorageStore


def build(settings: StorageSettings, store: StorageStore, object_store: ObjectStore, nonces: NonceStore) -> FastAPI:
    app = create_app(settings, nonces, [objects.router, reads.router], title="MedLedger storage")
    app.state.store = store
    app.state.objects = object_store
    return app


def _deployed(settings: StorageSettings, database: Database | None) -> FastAPI:
    assert database is not None  # the settings are stateful: server.run made it
    object_store = S3ObjectStore(settings.s3)
    object_store.ensure_bucket()
    return build(settings, PostgresStorageStore(database), object_store, PostgresNonces(database))


def main(argv: list[str] | None = None) -> int:
    return run("storage", StorageSettings, _deployed, argv)


if __name__ == "__main__":
    sys.exit(main())
