"""Where a client finds its peer, its identity and the two chaincodes: one JSON file, written by Ansible
on the hosts (or by hand), named by --config or MEDLEDGER_CLIENT_CONFIG."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .gateway import Endpoint
from .identity import Identity, from_msp_folder

REQUIRED = ("peer", "tls_ca", "tls_cert", "tls_key", "msp_dir", "msp_id", "index", "usage")


class ConfigError(Exception):
    """A client configuration that is incomplete or points at missing files."""


@dataclass(frozen=True)
class Target:
    channel: str
    chaincode: str


@dataclass(frozen=True)
class ClientConfig:
    endpoint: Endpoint
    identity: Identity
    index: Target
    usage: Target


def load(path: Path) -> ClientConfig:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise ConfigError(f"{path}: missing {', '.join(missing)}")
    try:
        endpoint = Endpoint.from_files(
            data["peer"], Path(data["tls_ca"]), Path(data["tls_cert"]), Path(data["tls_key"])
        )
        identity = from_msp_folder(Path(data["msp_dir"]), data["msp_id"])
    except OSError as error:
        raise ConfigError(f"{path}: {error}") from error
    return ClientConfig(endpoint, identity, Target(**data["index"]), Target(**data["usage"]))
