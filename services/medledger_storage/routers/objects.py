"""Objects: a patient uploads an encrypted record under the SHA-384 of its ciphertext (streamed to disk while the
digest is computed, kept only when it matches); its owner and the receivers the sharing proxy granted download
it, each read audited before its first byte."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from medledger_api.common import PID_PATTERN, Role
from medledger_api.signed_request import Caller, VerifiedRequest
from medledger_api.storage import Grant, Sha384, StoredObject
from medledger_service_base.app import refusals
from medledger_service_base.auth import signed_caller, signed_headers

from ..dependencies import Objects, Settings, Store
from ..objects import ObjectStoreError
from ..store import ObjectRow, ObjectTaken, Party

router = APIRouter(prefix="/objects", tags=["objects"])
AnyCaller = Annotated[Caller, Depends(signed_caller)]
Headers = Annotated[VerifiedRequest, Depends(signed_headers)]


def object_key(sha384: str) -> str:
    return f"objects/{sha384}"


@router.put(
    "/{sha384}",
    status_code=status.HTTP_201_CREATED,
    response_model=StoredObject,
    responses=refusals(403, 409, 502),
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def upload(
    sha384: Sha384, request: Request, *, verified: Headers, settings: Settings, store: Store, objects: Objects
) -> StoredObject:
    """Store an encrypted record; its address is the SHA-384 of the bytes sent, which the request signed."""
    caller = verified.caller
    if caller.role != Role.PATIENT.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a patient stores records")
    # A record's owner is a pseudonym: an identity its CA enrolled under any other name is no registered patient.
    if not PID_PATTERN.match(caller.enrolment_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a registered patient (a pseudonym) stores records")
    if verified.digest != sha384:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "sha384: must be the SHA-384 of the content")
    owner = Party(caller.enrolment_id, caller.msp_id)
    existing = await run_in_threadpool(store.find, sha384)
    if existing is not None:
        if existing.owner != owner:
            raise HTTPException(status.HTTP_409_CONFLICT, "another party stored this content")
        return _shown(existing, settings.public_url)
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=settings.spool_dir, prefix="upload-") as spool:
        digest, size = hashlib.sha384(), 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_object_bytes:
                raise HTTPException(
                    status.HTTP_413_CONTENT_TOO_LARGE, f"a record is at most {settings.max_object_bytes} bytes"
                )
            digest.update(chunk)
            spool.write(chunk)
        spool.flush()
        verified.check_body(digest.hexdigest())
        row = ObjectRow(sha384, owner, size)
        try:
            await run_in_threadpool(objects.put, object_key(sha384), Path(spool.name))
        except ObjectStoreError as error:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None
    try:
        await run_in_threadpool(store.add, row)
    except ObjectTaken:
        raise HTTPException(status.HTTP_409_CONFLICT, "another party stored this content") from None
    return _shown(row, settings.public_url)


@router.get(
    "/{sha384}",
    response_class=StreamingResponse,
    responses={**refusals(403, 404, 502), 200: {"content": {"application/octet-stream": {}}}},
)
def download(sha384: Sha384, caller: AnyCaller, store: Store, objects: Objects) -> StreamingResponse:
    """The object's ciphertext, to its owner or a receiver of a share; the read is audited first."""
    row = store.find(sha384)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such object")
    reader = Party(caller.enrolment_id, caller.msp_id)
    if not store.may_read(sha384, reader):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this object is neither yours nor shared with you")
    store.record_read(sha384, reader)
    try:
        chunks = objects.chunks(object_key(sha384))
        first = next(chunks, b"")
    except ObjectStoreError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None
    return StreamingResponse(
        _prepend(first, chunks), media_type="application/octet-stream", headers={"content-length": str(row.size)}
    )


@router.post("/{sha384}/grants", status_code=status.HTTP_204_NO_CONTENT, responses=refusals(403, 404))
def grant(sha384: Sha384, body: Grant, caller: AnyCaller, settings: Settings, store: Store) -> None:
    """The sharing proxy lets a share's receiver read the object, after the share's usage record committed."""
    if caller.msp_id != settings.proxy_msp_id or caller.attributes.get("medledger.proxy") != "true":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the sharing proxy grants reads")
    if store.find(sha384) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such object")
    store.grant(sha384, Party(body.receiver, body.receiver_msp_id), f"{caller.msp_id}/{caller.enrolment_id}")


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _shown(row: ObjectRow, public_url: str) -> StoredObject:
    return StoredObject(
        sha384=row.sha384,
        size=row.size,
        owner=row.owner.pid,
        owner_msp_id=row.owner.msp_id,
        url=f"{public_url}/objects/{row.sha384}",
    )
