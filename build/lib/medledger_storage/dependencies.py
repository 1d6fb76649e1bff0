"""What the storage service's routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .objects import ObjectStore
from .settings import StorageSettings
from .store import StorageStore


def settings(request: Request) -> StorageSettings:
    value: StorageSettings = request.app.state.settings
    return value


def store(request: Request) -> StorageStore:
    value: StorageStore = request.app.state.store
    return value


def objects(request: Request) -> ObjectStore:
    value: ObjectStore = request.app.state.objects
    return value


Settings = Annotated[StorageSettings, Depends(settings)]
Store = Annotated[StorageStore, Depends(store)]
Objects = Annotated[ObjectStore, Depends(objects)]
