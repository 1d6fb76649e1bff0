"""Where a client finds its peer, its identity and the two chaincodes, and, for the services, where each is and
where its own Umbral keys and keyring are: one JSON file, written by Ansible on the hosts (or by hand), named by
--config or MEDLEDGER_CLIENT_CONFIG.

  "services": {"registry": {"address": "host:port", "tls_ca": "chain.pem"}, "storage": {...},
               "sharing_proxy": {...}, "hospital_managers": {"<hospital>": {...}},
               "sharing_proxies": [{...}, ...]},   (threshold sharing: each proxy of the group, on its own host)
  "sharing_keys": "umbral.keys",      (made by `medledger keys init`, mode 0600)
  "keyring": "keyring/"               (each record's wrapped data key, by treatment)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
class ServiceEndpoint:
    address: str
    tls_ca: Path


@dataclass(frozen=True)
class ClientConfig:
    endpoint: Endpoint
    identity: Identity
    index: Target
    usage: Target
    services: dict[str, ServiceEndpoint] = field(default_factory=dict)
    hospitals: dict[str, ServiceEndpoint] = field(default_factory=dict)
    sharing_proxies: tuple[ServiceEndpoint, ...] = ()
    sharing_keys: Path | None = None
    keyring: Path | None = None

    def service(self, name: str) -> ServiceEndpoint:
        if name not in self.services:
            raise ConfigError(f'the client settings name no {name} service ("services": {{"{name}": ...}})')
        return self.services[name]

    def hospital(self, name: str) -> ServiceEndpoint:
        if name not in self.hospitals:
            known = ", ".join(sorted(self.hospitals)) or "none"
            raise ConfigError(f"no hospital manager {name} in the client settings (known: {known})")
        return self.hospitals[name]

    def threshold_proxies(self, threshold: int) -> tuple[ServiceEndpoint, ...]:
        if len(self.sharing_proxies) < max(threshold, 2):
            raise ConfigError(
                f"a share {threshold} of n needs n >= {max(threshold, 2)} sharing proxies; the client settings name"
                f' {len(self.sharing_proxies)} ("services": {{"sharing_proxies": [...]}})'
            )
        return self.sharing_proxies

    def sharing_keys_file(self) -> Path:
        if self.sharing_keys is None:
            raise ConfigError("the client settings name no sharing_keys file")
        return self.sharing_keys

    def keyring_folder(self) -> Path:
        if self.keyring is None:
            raise ConfigError("the client settings name no keyring folder")
        return self.keyring


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
    services = dict(data.get("services", {}))
    hospitals = services.pop("hospital_managers", {})
    proxies = services.pop("sharing_proxies", [])
    try:
        endpoints = {
            name: ServiceEndpoint(str(spec["address"]), Path(spec["tls_ca"])) for name, spec in services.items()
        }
        managers = {
            name: ServiceEndpoint(str(spec["address"]), Path(spec["tls_ca"])) for name, spec in hospitals.items()
        }
        threshold_group = tuple(ServiceEndpoint(str(spec["address"]), Path(spec["tls_ca"])) for spec in proxies)
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{path}: a service needs an address and a tls_ca ({error})") from None
    optional = {name: Path(data[name]) if data.get(name) else None for name in ("sharing_keys", "keyring")}
    return ClientConfig(
        endpoint,
        identity,
        Target(**data["index"]),
        Target(**data["usage"]),
        endpoints,
        managers,
        threshold_group,
        **optional,
    )
