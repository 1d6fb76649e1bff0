"""The sharing proxy's settings (roles/sharing_proxy writes them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from medledger_api.common import MspId
from medledger_service_base.settings import RegistryEndpoint, StatefulServiceSettings


class PeerSettings(BaseModel):
    """The peer whose Gateway the proxy uses, and the two channels' chaincodes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$")
    tls_ca: Path
    tls_certificate: Path = Field(description="the proxy's TLS client certificate (its TLS CA's)")
    tls_key: Path
    patient_channel: str
    patient_chaincode: str
    usage_channel: str
    usage_chaincode: str


class StorageEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$")
    tls_ca_files: tuple[Path, ...] = Field(min_length=1)


class SharingProxySettings(StatefulServiceSettings):
    msp_id: MspId = Field(description="the proxy's organisation (the government's)")
    identity: Path = Field(description="the proxy's enrolment (medledger.proxy=true): signcerts/, keystore/")
    peer: PeerSettings
    registry: RegistryEndpoint
    storage: StorageEndpoint
