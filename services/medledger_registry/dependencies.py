"""What the registry's routes share: its store, its registrars, its keys and who may do what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from medledger_api.signed_request import Caller
from medledger_service_base.app import from_state
from medledger_service_base.auth import caller_with, signed_caller

from .pseudonyms import RegistryKeys
from .registrars import Registrars
from .settings import RegistrySettings
from .store import RegistryStore

MANAGER_ROLE = "manager"
APPROVER_ROLE = "sa"


async def approver(caller: Annotated[Caller, Depends(caller_with(roles=(APPROVER_ROLE,)))], request: Request) -> Caller:
    """A member of the SA's organisation with medledger.role=sa (the organisation is a setting, so it is
    checked here rather than in caller_with's arguments)."""
    registry: RegistrySettings = request.app.state.settings
    if caller.msp_id != registry.approver_msp_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"members of {caller.msp_id} may not approve registrations")
    return caller


Settings = Annotated[RegistrySettings, from_state("settings")]
Store = Annotated[RegistryStore, from_state("store")]
Keys = Annotated[RegistryKeys, from_state("keys")]
CARegistrars = Annotated[Registrars, from_state("registrars")]
Manager = Annotated[Caller, Depends(caller_with(roles=(MANAGER_ROLE,)))]
Approver = Annotated[Caller, Depends(approver)]
AnyCaller = Annotated[Caller, Depends(signed_caller)]
