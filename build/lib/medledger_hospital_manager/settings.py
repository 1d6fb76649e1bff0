"""The hospital manager's settings (roles/hospital_manager writes them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from medledger_api.common import MspId
from medledger_service_base.settings import StatefulServiceSettings


class RegistryEndpoint(BaseModel):
    """Where the manager looks people up (the registry's certificate directory), and how it knows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$")
    tls_ca_files: tuple[Path, ...] = Field(min_length=1, description="PEM files of the registry's TLS CA chain")


class HospitalManagerSettings(StatefulServiceSettings):
    hospital: str = Field(min_length=1, max_length=64, description="the hospital's name (its peer's)")
    msp_id: MspId = Field(description="the hospital's organisation: its patients and doctors book here")
    identity: Path = Field(description="the manager's own enrolment (signcerts/, keystore/), for the registry")
    registry: RegistryEndpoint
