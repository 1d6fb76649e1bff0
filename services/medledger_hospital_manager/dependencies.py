"""What the hospital manager's routes share."""

from __future__ import annotations

from typing import Annotated

from medledger_service_base.app import from_state
from medledger_service_base.directory import Directory

from .settings import HospitalManagerSettings
from .store import AppointmentStore

Settings = Annotated[HospitalManagerSettings, from_state("settings")]
Store = Annotated[AppointmentStore, from_state("store")]
People = Annotated[Directory, from_state("directory")]
