"""The registry's settings (roles/medledger_service writes them): the base's, its database, its keys, and the
registrar it holds at each organisation's CAs."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from medledger_api.common import MspId, Role
from medledger_service_base.settings import StatefulServiceSettings, TLSFiles


class RegistrarSettings(BaseModel):
    """The registry's registrar identity at one organisation's CA server: it registers users (type client,
    with the attribute medledger.role) and nothing else (its hf.Registrar.* attributes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_address: str = Field(pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$")
    ca_name: str = Field(description="the organisation's CA: enrolment certificates")
    tls_ca_name: str = Field(description="that server's TLS CA: TLS client certificates for the peers' Gateways")
    affiliation: str
    msp: Path = Field(description="the registrar's enrolment at ca_name (signcerts/, keystore/)")
    tls: TLSFiles = Field(description="the registrar's enrolment at tls_ca_name: its certificate and key")
    roles: tuple[Role, ...] = Field(min_length=1, description="what its organisation's users may be")


class RegistrySettings(StatefulServiceSettings):
    rid_encryption_key_file: Path = Field(description="the key that encrypts RIDs at rest: 32 bytes in hex, 0600")
    rid_lookup_key_file: Path = Field(description="the key of the RIDs' lookup hash: 32 bytes in hex, 0600")
    approver_msp_id: MspId = Field(description="the SA's organisation: its members with medledger.role=sa approve")
    ca_tls_root: Path = Field(description="the TLS root the CA servers' certificates chain to")
    registrars: dict[MspId, RegistrarSettings] = Field(min_length=1)
