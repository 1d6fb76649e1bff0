"""The certificate directory (the paper's "cloud database"): each registered user publishes its certificate and
Umbral keys, signed by its enrolment key; any caller with a certificate from our CAs looks them up."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding, load_pem_public_key
from fastapi import APIRouter, HTTPException, status

from medledger_api.common import Pid
from medledger_api.registry import DirectoryEntry, SharingKeysPublication, sharing_keys_statement
from medledger_api.signed_request import RequestError, check_signature
from medledger_service_base.app import refusals

from ..dependencies import AnyCaller, Store
from ..store import NotFound

router = APIRouter(prefix="/directory", tags=["directory"])
REFUSALS = refusals(403, 404)


@router.put("/{pid}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSALS)
def publish(pid: Pid, body: SharingKeysPublication, caller: AnyCaller, store: Store) -> None:
    """A user publishes its own certificate (the one that signed this request, whose key must be the one its
    pseudonym was made for) and its Umbral keys."""
    if caller.enrolment_id != pid:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a user publishes only its own keys")
    try:
        registered = store.registered(pid)
    except NotFound:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the registry did not register this pseudonym") from None
    registered_key = load_pem_public_key(registered.public_key.encode())
    if (
        registered.organisation != caller.msp_id
        or registered.role.value != caller.role
        or caller.certificate.public_key() != registered_key
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the certificate is not the one this pseudonym was registered for"
        )
    statement = sharing_keys_statement(pid, body.public_key, body.verifying_key)
    try:
        check_signature(caller.certificate, body.signature, statement)
    except RequestError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "signature: does not verify with the caller's certificate"
        ) from None
    certificate = caller.certificate.public_bytes(Encoding.PEM).decode()
    store.publish(pid, certificate, body)


@router.get("/{pid}", response_model=DirectoryEntry, responses=REFUSALS)
def look_up(pid: Pid, caller: AnyCaller, store: Store) -> DirectoryEntry:
    try:
        return store.entry(pid)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no published keys for this pseudonym") from None
