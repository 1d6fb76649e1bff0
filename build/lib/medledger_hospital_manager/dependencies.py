"""What the hospital manager's routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from medledger_service_base.directory import Directory

from .settings import HospitalManagerSettings
from .store import AppointmentStore


def settings(request: Request) -> HospitalManagerSettings:
    value: HospitalManagerSettings = request.app.state.settings
    return value


def store(request: Request) -> AppointmentStore:
    value: AppointmentStore = request.app.state.store
    return value


def directory(request: Request) -> Directory:
    value: Directory = request.app.state.directory
    return value


Settings = Annotated[HospitalManagerSettings, Depends(settings)]
Store = Annotated[AppointmentStore, Depends(store)]
People = Annotated[Directory, Depends(directory)]
