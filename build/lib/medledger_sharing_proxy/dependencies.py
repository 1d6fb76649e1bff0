"""What the sharing proxy's routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from medledger_service_base.directory import Directory

from .ledger import Grants, Ledger
from .store import ShareStore


def store(request: Request) -> ShareStore:
    value: ShareStore = request.app.state.store
    return value


def directory(request: Request) -> Directory:
    value: Directory = request.app.state.directory
    return value


def ledger(request: Request) -> Ledger:
    value: Ledger = request.app.state.ledger
    return value


def grants(request: Request) -> Grants:
    value: Grants = request.app.state.grants
    return value


Store = Annotated[ShareStore, Depends(store)]
People = Annotated[Directory, Depends(directory)]
OnLedger = Annotated[Ledger, Depends(ledger)]
StorageGrants = Annotated[Grants, Depends(grants)]
