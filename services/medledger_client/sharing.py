"""Sharing as the data client does it: the patient grants a key fragment for one receiver and hands the proxy the
record's capsule; the receiver collects the delivery, checks the index record it carries (the receiver cannot
read the Patient Channel) against the patient's certificate from the directory, and opens the data key."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from medledger_api.common import b64
from medledger_api.entities import PatientDataEntity, file_digest, patient_signature_message
from medledger_api.registry import DirectoryEntry
from medledger_api.sharing import Delivery, Share, ShareRequest, ShareState
from medledger_api.signed_request import RequestError, check_signature

from .service_client import ServiceClient, ServiceError
from .sharing_keys import SharingError, SharingKeys, TooFewFragments, WrappedKey, grant, unwrap_shared

AUDIENCE = "sharing-proxy"


@dataclass(frozen=True)
class Received:
    delivery: Delivery
    record: PatientDataEntity
    data_key: bytes


def share(
    proxy: ServiceClient, patient_keys: SharingKeys, receiver: DirectoryEntry, treatment: str, wrapped: WrappedKey
) -> Share:
    """Share through one proxy, with one key fragment that opens the record alone."""
    (made,) = share_among([proxy], patient_keys, receiver, treatment, wrapped, threshold=1)
    return made


def share_among(
    proxies: Sequence[ServiceClient],
    patient_keys: SharingKeys,
    receiver: DirectoryEntry,
    treatment: str,
    wrapped: WrappedKey,
    *,
    threshold: int,
) -> list[Share]:
    """Threshold sharing: a key fragment for each proxy (each on a host of its own), any `threshold` of whose
    capsule fragments open the record, so that fewer proxies can neither deliver it nor, when down, withhold it.
    The shares carry one grant ID. When a proxy refuses, those already made are revoked: all or none."""
    kfrags = grant(patient_keys, bytes.fromhex(receiver.sharing_keys.public_key), threshold, len(proxies))
    grant_id = uuid.uuid4() if len(proxies) > 1 else None
    made: list[tuple[ServiceClient, Share]] = []
    try:
        for proxy, kfrag in zip(proxies, kfrags, strict=True):
            body = ShareRequest(
                treatment=treatment,
                receiver=receiver.pid,
                capsule=b64(wrapped.capsule),
                wrapped_key=b64(wrapped.ciphertext),
                kfrag=b64(kfrag),
                grant=grant_id,
            )
            made.append((proxy, Share.model_validate(proxy.call("POST", "/shares", body))))
    except ServiceError:
        for proxy, done in made:
            revoke(proxy, done.share_id)
        raise
    return [done for _, done in made]


def revoke(proxy: ServiceClient, share_id: uuid.UUID) -> None:
    proxy.call("DELETE", f"/shares/{share_id}")


def revoke_grant(proxies: Sequence[ServiceClient], grant_id: uuid.UUID) -> list[uuid.UUID]:
    """Withdraw a threshold share at every proxy that holds one of its shares; those already delivered stay so (the
    proxy says 409), and as long as fewer than the threshold were, the record stays closed to the receiver."""
    revoked = []
    for proxy in proxies:
        for found in shares(proxy):
            if found.grant == grant_id and found.state is ShareState.PENDING:
                revoke(proxy, found.share_id)
                revoked.append(found.share_id)
    return revoked


def shares(proxy: ServiceClient) -> list[Share]:
    return [Share.model_validate(item) for item in proxy.call("GET", "/shares")]


def receive(proxy: ServiceClient, share_id: uuid.UUID, receiver_keys: SharingKeys, patient: DirectoryEntry) -> Received:
    """The delivery, its record signed by `patient` (whose directory entry the caller looked up), its data key."""
    return _opened([_delivery(proxy, share_id)], receiver_keys, patient)


def receive_grant(
    proxies: Sequence[ServiceClient], grant_id: uuid.UUID, receiver_keys: SharingKeys, patient: DirectoryEntry
) -> Received:
    """A threshold share: deliveries of the grant's shares, one proxy after the other, until their capsule
    fragments open the data key; a proxy that is down or holds no share of the grant is passed over."""
    deliveries: list[Delivery] = []
    passed_over: list[str] = []
    for proxy in proxies:
        try:
            held = [found for found in shares(proxy) if found.grant == grant_id]
            if not held:
                passed_over.append(f"{proxy.address}: no share of this grant")
                continue
            deliveries.append(_delivery(proxy, held[0].share_id))
        except ServiceError as error:
            passed_over.append(str(error))
            continue
        try:
            return _opened(deliveries, receiver_keys, patient)
        except TooFewFragments:
            continue
    raise SharingError(f"{len(deliveries)} capsule fragment(s) of grant {grant_id} do not open the key: {passed_over}")


def _delivery(proxy: ServiceClient, share_id: uuid.UUID) -> Delivery:
    return Delivery.model_validate(proxy.call("POST", f"/shares/{share_id}/delivery"))


def _opened(deliveries: Sequence[Delivery], receiver_keys: SharingKeys, patient: DirectoryEntry) -> Received:
    """The data key from the deliveries' capsule fragments, once every delivery is of the same record, which
    `patient` signed."""
    first = deliveries[0]
    if any(
        (d.capsule, d.wrapped_key, d.record) != (first.capsule, first.wrapped_key, first.record) for d in deliveries
    ):
        raise SharingError("the proxies delivered different records or capsules for one grant")
    record = PatientDataEntity.from_wire(first.record)
    if record.patient_pseudonym_id != patient.pid or any(d.share.patient != patient.pid for d in deliveries):
        raise SharingError("the delivered record is not this patient's")
    check_record_signature(record, x509.load_pem_x509_certificate(patient.certificate.encode()))
    wrapped = WrappedKey(_bytes(first.capsule), _bytes(first.wrapped_key))
    keys = patient.sharing_keys
    data_key = unwrap_shared(
        receiver_keys.secret_key,
        bytes.fromhex(keys.public_key),
        bytes.fromhex(keys.verifying_key),
        wrapped,
        [_bytes(d.cfrag) for d in deliveries],
    )
    return Received(first, record, data_key)


def check_record_signature(record: PatientDataEntity, patient_certificate: x509.Certificate) -> None:
    """The patient's signature over the record's digest and PID (dataSignaturePatient)."""
    message = patient_signature_message(record.data_message_digest, record.patient_pseudonym_id)
    try:
        check_signature(patient_certificate, b64(bytes.fromhex(record.data_signature_patient)), message)
    except (RequestError, ValueError):
        raise SharingError("the record's patient signature does not verify with the patient's certificate") from None


def check_ciphertext(record: PatientDataEntity, ciphertext: Path) -> None:
    if file_digest(ciphertext) != record.data_message_digest:
        raise SharingError("the ciphertext is not the one the record's digest names")


def _bytes(text: str) -> bytes:
    return base64.b64decode(text)
