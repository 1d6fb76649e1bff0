"""The audit trail of reads: a patient sees who read its records, and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from medledger_api.common import Role
from medledger_api.signed_request import Caller
from medledger_api.storage import Read
from medledger_service_base.app import refusals
from medledger_service_base.auth import caller_with

from ..dependencies import Store
from ..store import Party

router = APIRouter(prefix="/reads", tags=["reads"])
Patient = Annotated[Caller, Depends(caller_with(roles=(Role.PATIENT.value,)))]


@router.get("", response_model=list[Read], responses=refusals(403))
def reads_of_my_records(caller: Patient, store: Store) -> list[Read]:
    return store.reads_of(Party(caller.enrolment_id, caller.msp_id))
