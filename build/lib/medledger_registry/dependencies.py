"""What the registry's routes share: its store, its registrars, its keys and who may do what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from medledger_api.signed_request import Caller
from medledger_service_base.auth import caller_with, signed_caller

from .pseudonyms import RegistryKeys
from .registrars import Registrars
from .settings import RegistrySettings
from .store import RegistryStore

MANAGER_ROLE = "manager"
APPROVER_ROLE = "sa"


def settings(request: Request) -> RegistrySettings:
    value: RegistrySettings = request.app.state.settings
    return value


def store(request: Request) -> RegistryStore:
    value: RegistryStore = request.app.state.store
    return value


def registrars(request: Request) -> Registrars:
    value: Registrars = request.app.state.registrars
    return value


def keys(request: Request) -> RegistryKeys:
    value: RegistryKeys = request.app.state.keys
    return value


async def approver(caller: Annotated[Caller, Depends(caller_with(roles=(APPROVER_ROLE,)))], request: Request) -> Caller:
    """A member of the SA's organisation with medledger.role=sa (the organisation is a setting, so it is
    checked here rather than in caller_with's arguments)."""
    if caller.msp_id != settings(request).approver_msp_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"members of {caller.msp_id} may not approve registrations")
    return caller


Settings = Annotated[RegistrySettings, Depends(settings)]
Store = Annotated[RegistryStore, Depends(store)]
Keys = Annotated[RegistryKeys, Depends(keys)]
CARegistrars = Annotated[Registrars, Depends(registrars)]
Manager = Annotated[Caller, Depends(caller_with(roles=(MANAGER_ROLE,)))]
Approver = Annotated[Caller, Depends(approver)]
AnyCaller = Annotated[Caller, Depends(signed_caller)]
