"""A service's settings: one JSON file that its Ansible role writes, read once at start into a typed model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .database import DatabaseSettings


class SettingsError(Exception):
    """A settings file the service cannot start with; one line naming what is wrong."""


class TLSFiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: Path = Field(description="PEM chain the service presents (its organisation's TLS CA issued it)")
    key: Path = Field(description="PEM private key of that certificate, 0600, the service user's")


class ServiceSettings(BaseModel):
    """What every service needs; each service's settings extend it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$", description="the service's name in signed requests")
    host: str
    port: int = Field(ge=1, le=65535)
    tls: TLSFiles
    organisations: dict[str, Path] = Field(
        min_length=1, description="MSP ID -> verifying MSP folder (cacerts, intermediatecerts, crls)"
    )
    request_window_seconds: int = Field(default=300, ge=5, le=3600)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)


class RegistryEndpoint(BaseModel):
    """Where the manager looks people up (the registry's certificate directory), and how it knows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$")
    tls_ca_files: tuple[Path, ...] = Field(min_length=1, description="PEM files of the registry's TLS CA chain")


class StatefulServiceSettings(ServiceSettings):
    """A service that keeps state in its PostgreSQL database."""

    database: DatabaseSettings


SettingsType = TypeVar("SettingsType", bound=ServiceSettings)


def load_settings(model: type[SettingsType], path: Path) -> SettingsType:
    try:
        return model.model_validate(json.loads(path.read_text()))
    except OSError as error:
        raise SettingsError(f"cannot read the settings {path}: {error.strerror}") from None
    except ValueError as error:
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top)"
            raise SettingsError(f"{path}: {where}: {first['msg']}") from None
        raise SettingsError(f"{path} is not JSON: {error}") from None
