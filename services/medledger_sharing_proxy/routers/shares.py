"""Shares (the paper's phases ⑦ and ⑧): a patient shares one record with one registered receiver; the proxy checks
both parties in the registry's directory, the record's index entry on the Patient Channel and the key fragment;
on delivery it writes the usage record on the Data Usage Channel, lets the receiver read the ciphertext from
storage, and only then re-encrypts the capsule for it. A share not yet recorded can be revoked."""

from __future__ import annotations

import base64
import datetime
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from medledger_api.common import Role
from medledger_api.entities import DataUsageEntity, now_ms
from medledger_api.sharing import Delivery, Share, ShareRequest, ShareState
from medledger_api.signed_request import Caller
from medledger_client.service_client import ServiceError
from medledger_client.sharing_keys import SharingError, reencrypt
from medledger_service_base.app import refusals
from medledger_service_base.auth import caller_with, signed_caller
from medledger_service_base.directory import certificate_of, registered

from ..dependencies import OnLedger, People, StorageGrants, Store
from ..ledger import LedgerError
from ..store import NotFound, ShareStore, StoredShare

router = APIRouter(prefix="/shares", tags=["shares"])
Patient = Annotated[Caller, Depends(caller_with(roles=(Role.PATIENT.value,)))]
AnyCaller = Annotated[Caller, Depends(signed_caller)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Share, responses=refusals(403, 502))
def share(body: ShareRequest, caller: Patient, store: Store, people: People, ledger: OnLedger) -> Share:
    patient = registered(people, caller.enrolment_id, "the patient", absent=status.HTTP_403_FORBIDDEN)
    if patient.role is not Role.PATIENT or certificate_of(patient) != caller.certificate:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the certificate is not the registered patient's")
    receiver = registered(people, body.receiver, "the receiver", absent=status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        record = ledger.index_record(caller.enrolment_id, body.treatment)
    except LedgerError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None
    if record is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "treatment: no index record of yours on the Patient Channel"
        )
    keys = {
        "delegating": patient.sharing_keys.public_key,
        "verifying": patient.sharing_keys.verifying_key,
        "receiving": receiver.sharing_keys.public_key,
    }
    stored = StoredShare(
        share_id=uuid.uuid4(),
        patient=caller.enrolment_id,
        patient_msp_id=caller.msp_id,
        receiver=body.receiver,
        receiver_msp_id=receiver.msp_id,
        treatment=body.treatment,
        state=ShareState.PENDING,
        created_at=datetime.datetime.now(datetime.UTC),
        capsule=base64.b64decode(body.capsule),
        wrapped_key=base64.b64decode(body.wrapped_key),
        kfrag=base64.b64decode(body.kfrag),
        record=record.to_wire(),
        keys=keys,
        grant=body.grant,
    )
    _reencrypted(stored)  # refuses a capsule or key fragment that would not work, before anything is kept
    store.add(stored)
    return stored.shown()


@router.get("", response_model=list[Share], responses=refusals())
def shares(caller: AnyCaller, store: Store) -> list[Share]:
    """The caller's shares, as patient or as receiver."""
    return [found.shown() for found in store.of_party(caller.enrolment_id, caller.msp_id)]


@router.delete("/{share_id}", status_code=status.HTTP_204_NO_CONTENT, responses=refusals(403, 404, 409))
def revoke(share_id: uuid.UUID, caller: Patient, store: Store) -> None:
    """The patient withdraws a share before its usage record is written; a revoked share is never delivered."""

    def revoked(found: StoredShare) -> StoredShare:
        if (found.patient, found.patient_msp_id) != (caller.enrolment_id, caller.msp_id):
            raise NotFound
        if found.state in {ShareState.RECORDED, ShareState.DELIVERED}:
            raise HTTPException(status.HTTP_409_CONFLICT, f"the share is already {found.state.value}")
        return replace(found, state=ShareState.REVOKED)

    _changed(store, share_id, revoked)


@router.post("/{share_id}/delivery", response_model=Delivery, responses=refusals(404, 410, 502))
def deliver(share_id: uuid.UUID, caller: AnyCaller, store: Store, ledger: OnLedger, grants: StorageGrants) -> Delivery:
    """The receiver collects a share: recorded on the Data Usage Channel first, delivered after."""

    def recorded(found: StoredShare) -> StoredShare:
        if (found.receiver, found.receiver_msp_id) != (caller.enrolment_id, caller.msp_id):
            raise NotFound
        if found.state is ShareState.REVOKED:
            raise HTTPException(status.HTTP_410_GONE, "the patient revoked this share")
        if found.state is not ShareState.PENDING:
            return found
        usage = DataUsageEntity(
            treatment_id=found.treatment,
            sender_pseudonym_id=found.patient,
            receiver_pseudonym_id=found.receiver,
            timestamp=now_ms(),
            data_message_digest=str(found.record["dataMessageDigest"]),
        )
        try:
            transaction = ledger.record_usage(usage)
        except LedgerError as error:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None
        return replace(found, state=ShareState.RECORDED, usage_transaction_id=transaction)

    def delivered(found: StoredShare) -> StoredShare:
        if found.state is ShareState.DELIVERED:
            return found
        try:
            grants.grant(str(found.record["dataMessageDigest"]), found.receiver, found.receiver_msp_id)
        except ServiceError as error:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the storage service: {error}") from None
        return replace(found, state=ShareState.DELIVERED, cfrag=_reencrypted(found))

    _changed(store, share_id, recorded)
    done = _changed(store, share_id, delivered)
    return Delivery(
        share=done.shown(),
        capsule=base64.b64encode(done.capsule).decode(),
        cfrag=base64.b64encode(done.cfrag or b"").decode(),
        wrapped_key=base64.b64encode(done.wrapped_key).decode(),
        record=done.record,
        usage_transaction_id=str(done.usage_transaction_id),
    )


def _reencrypted(found: StoredShare) -> bytes:
    try:
        delegating, receiving, verifying = (
            bytes.fromhex(found.keys[name]) for name in ("delegating", "receiving", "verifying")
        )
        return reencrypt(found.capsule, found.kfrag, delegating, receiving, verifying)
    except SharingError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"kfrag: {error}") from None


def _changed(store: ShareStore, share_id: uuid.UUID, step: Callable[[StoredShare], StoredShare]) -> StoredShare:
    try:
        return store.change(share_id, step)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such share of yours") from None
