"""What the sharing proxy's routes share."""

from __future__ import annotations

from typing import Annotated

from medledger_service_base.app import from_state
from medledger_service_base.directory import Directory

from .ledger import Grants, Ledger
from .store import ShareStore

Store = Annotated[ShareStore, from_state("store")]
People = Annotated[Directory, from_state("directory")]
OnLedger = Annotated[Ledger, from_state("ledger")]
StorageGrants = Annotated[Grants, from_state("grants")]
