"""The storage service as the data client uses it: store an encrypted record, fetch one (checked against its
address before it is kept), and read the audit trail of one's records."""

from __future__ import annotations

from pathlib import Path

from medledger_api.entities import file_digest
from medledger_api.storage import Read, StoredObject

from .service_client import ServiceClient

AUDIENCE = "storage"


class StorageError(Exception):
    """A fetched object whose content is not what its address says: altered in storage or on the way."""


def store(storage: ServiceClient, sealed_record: Path) -> StoredObject:
    digest = file_digest(sealed_record)
    return StoredObject.model_validate(storage.upload(f"/objects/{digest}", sealed_record, digest))


def fetch(storage: ServiceClient, sha384: str, destination: Path) -> Path:
    """The object's ciphertext in `destination`, only if its SHA-384 is `sha384`."""
    partial = destination.with_name(f".{destination.name}.fetched")
    storage.download(f"/objects/{sha384}", partial)
    if file_digest(partial) != sha384:
        partial.unlink()
        raise StorageError(f"object {sha384[:16]}… does not have the content its address names: it was altered")
    partial.replace(destination)
    return destination


def reads(storage: ServiceClient) -> list[Read]:
    return [Read.model_validate(item) for item in storage.call("GET", "/reads")]
