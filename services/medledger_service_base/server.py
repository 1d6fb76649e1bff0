"""Start a service: read its settings, bring its database's schema up to date, and serve HTTPS with uvicorn.
Each service's console script (`medledger-<service> --settings FILE`) is a call of `run`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import uvicorn
from fastapi import FastAPI

from .database import Database, DatabaseError, migrate
from .settings import SettingsError, SettingsType, StatefulServiceSettings, load_settings


def run(
    name: str,
    model: type[SettingsType],
    build: Callable[[SettingsType, Database | None], FastAPI],
    argv: list[str] | None = None,
) -> int:
    program = f"medledger-{name.replace('_', '-')}"
    parser = argparse.ArgumentParser(prog=program, description=f"The MedLedger {name.replace('_', ' ')} service.")
    parser.add_argument("--settings", type=Path, required=True, help="its JSON settings (written by Ansible)")
    parser.add_argument("--migrate", action="store_true", help="bring the database's schema up to date and stop")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(model, args.settings)
        database = _migrated(name, settings) if isinstance(settings, StatefulServiceSettings) else None
    except (SettingsError, DatabaseError, psycopg.Error, OSError) as error:
        print(f"{program}: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    if args.migrate:
        if database is not None:
            database.close()
        return 0
    uvicorn.run(
        build(settings, database),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(settings.tls.certificate),
        ssl_keyfile=str(settings.tls.key),
        server_header=False,
        proxy_headers=False,
        log_level="info",
    )
    return 0


def _migrated(name: str, settings: StatefulServiceSettings) -> Database:
    database = Database(settings.database)
    with database.transaction() as connection:
        applied = migrate(connection, [f"medledger_{name}"])
    if applied:
        print(f"medledger_{name}: applied migrations {', '.join(applied)}", file=sys.stderr)
    return database
