"""How the manager learns who someone is: the registry's certificate directory, each entry's keys checked
against its certificate (medledger_client.registration.look_up)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from medledger_api.registry import DirectoryEntry
from medledger_client import registration
from medledger_client.identity import from_msp_folder
from medledger_client.service_client import ServiceClient

from .settings import HospitalManagerSettings


class Directory(Protocol):
    def look_up(self, pid: str) -> DirectoryEntry:
        """ServiceError (404 when nobody is registered under pid) or DirectoryError."""
        ...


class RegistryDirectory:
    def __init__(self, settings: HospitalManagerSettings) -> None:
        chain = b"".join(Path(path).read_bytes() for path in settings.registry.tls_ca_files)
        signer = from_msp_folder(settings.identity, settings.msp_id)
        self.registry = ServiceClient(settings.registry.address, registration.AUDIENCE, signer, chain)

    def look_up(self, pid: str) -> DirectoryEntry:
        return registration.look_up(self.registry, pid)
