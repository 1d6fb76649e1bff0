"""The storage service's settings (roles/storage writes them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from medledger_api.common import MspId
from medledger_service_base.settings import StatefulServiceSettings


class S3Settings(BaseModel):
    """The object store beside the service (roles/seaweedfs), over HTTPS on loopback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(pattern=r"^https://[A-Za-z0-9.-]+:\d{1,5}$")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{2,62}$")
    access_key: str
    secret_key_file: Path = Field(description="0600, the service user's")
    ca_file: Path = Field(description="PEM CA chain of the store's TLS certificate")


class StorageSettings(StatefulServiceSettings):
    s3: S3Settings
    public_url: str = Field(pattern=r"^https://[^/]+$", description="what clients reach this service at")
    max_object_bytes: int = Field(ge=1024, description="the largest record accepted")
    spool_dir: Path = Field(description="where an upload is kept while its digest is checked")
    proxy_msp_id: MspId = Field(
        description="the sharing proxy's organisation: its medledger.proxy identities grant reads"
    )
