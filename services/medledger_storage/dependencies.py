"""What the storage service's routes share."""

from __future__ import annotations

from typing import Annotated

from medledger_service_base.app import from_state

from .objects import ObjectStore
from .settings import StorageSettings
from .store import StorageStore

Settings = Annotated[StorageSettings, from_state("settings")]
Store = Annotated[StorageStore, from_state("store")]
Objects = Annotated[ObjectStore, from_state("objects")]
