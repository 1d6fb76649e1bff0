"""The hospital manager's settings (roles/hospital_manager writes them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from medledger_api.common import MspId
from medledger_service_base.settings import RegistryEndpoint, StatefulServiceSettings


class HospitalManagerSettings(StatefulServiceSettings):
    hospital: str = Field(min_length=1, max_length=64, description="the hospital's name (its peer's)")
    msp_id: MspId = Field(description="the hospital's organisation: its patients and doctors book here")
    identity: Path = Field(description="the manager's own enrolment (signcerts/, keystore/), for the registry")
    registry: RegistryEndpoint
