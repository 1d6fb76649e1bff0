"""Sharing as the data client does it: the patient grants a key fragment for one receiver and hands the proxy the
record's capsule; the receiver collects the delivery, checks the index record it carries (the receiver cannot
read the Patient Channel) against the patient's certificate from the directory, and opens the data key."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from medledger_api.common import b64
from medledger_api.entities import PatientDataEntity, file_digest, patient_signature_message
from medledger_api.registry import DirectoryEntry
from medledger_api.sharing import Delivery, Share, ShareRequest
from medledger_api.signed_request import RequestError, check_signature

from .service_client import ServiceClient
from .sharing_keys import SharingError, SharingKeys, WrappedKey, grant, unwrap_shared

AUDIENCE = "sharing-proxy"


@dataclass(frozen=True)
class Received:
    delivery: Delivery
    record: PatientDataEntity
    data_key: bytes


def share(
    proxy: ServiceClient, patient_keys: SharingKeys, receiver: DirectoryEntry, treatment: str, wrapped: WrappedKey
) -> Share:
    (kfrag,) = grant(patient_keys, bytes.fromhex(receiver.sharing_keys.public_key))
    body = ShareRequest(
        treatment=treatment,
        receiver=receiver.pid,
        capsule=b64(wrapped.capsule),
        wrapped_key=b64(wrapped.ciphertext),
        kfrag=b64(kfrag),
    )
    return Share.model_validate(proxy.call("POST", "/shares", body))


def revoke(proxy: ServiceClient, share_id: uuid.UUID) -> None:
    proxy.call("DELETE", f"/shares/{share_id}")


def shares(proxy: ServiceClient) -> list[Share]:
    return [Share.model_validate(item) for item in proxy.call("GET", "/shares")]


def receive(proxy: ServiceClient, share_id: uuid.UUID, receiver_keys: SharingKeys, patient: DirectoryEntry) -> Received:
    """The delivery, its record signed by `patient` (whose directory entry the caller looked up), its data key."""
    delivery = Delivery.model_validate(proxy.call("POST", f"/shares/{share_id}/delivery"))
    record = PatientDataEntity.from_wire(delivery.record)
    if record.patient_pseudonym_id != patient.pid or delivery.share.patient != patient.pid:
        raise SharingError("the delivered record is not this patient's")
    check_record_signature(record, x509.load_pem_x509_certificate(patient.certificate.encode()))
    wrapped = WrappedKey(_bytes(delivery.capsule), _bytes(delivery.wrapped_key))
    keys = patient.sharing_keys
    data_key = unwrap_shared(
        receiver_keys.secret_key,
        bytes.fromhex(keys.public_key),
        bytes.fromhex(keys.verifying_key),
        wrapped,
        [_bytes(delivery.cfrag)],
    )
    return Received(delivery, record, data_key)


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
