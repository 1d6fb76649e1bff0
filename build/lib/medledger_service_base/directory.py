"""How a service learns who someone is: the registry's certificate directory, each entry's keys checked against
its certificate (medledger_client.registration.look_up), asked with the service's own enrolment."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from cryptography import x509
from fastapi import HTTPException, status

from medledger_api.registry import DirectoryEntry
from medledger_client import registration
from medledger_client.identity import from_msp_folder
from medledger_client.service_client import ServiceClient, ServiceError

from .settings import RegistryEndpoint


class Directory(Protocol):
    def look_up(self, pid: str) -> DirectoryEntry:
        """ServiceError (404 when nobody is registered under pid) or DirectoryError."""
        ...


class RegistryDirectory:
    def __init__(self, registry: RegistryEndpoint, identity: Path, msp_id: str) -> None:
        chain = b"".join(Path(path).read_bytes() for path in registry.tls_ca_files)
        signer = from_msp_folder(identity, msp_id)
        self.registry = ServiceClient(registry.address, registration.AUDIENCE, signer, chain)

    def look_up(self, pid: str) -> DirectoryEntry:
        return registration.look_up(self.registry, pid)


def registered(people: Directory, pid: str, who: str, *, absent: int) -> DirectoryEntry:
    """`pid`'s directory entry for a route: HTTP `absent` when nobody is registered under it, 502 when the
    registry cannot be asked or answers with keys its certificate did not sign."""
    try:
        return people.look_up(pid)
    except ServiceError as error:
        if error.status == status.HTTP_404_NOT_FOUND:
            raise HTTPException(absent, f"{who} is not in the registry's directory") from None
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the registry: {error}") from None
    except registration.DirectoryError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None


def certificate_of(entry: DirectoryEntry) -> x509.Certificate:
    return x509.load_pem_x509_certificate(entry.certificate.encode())
