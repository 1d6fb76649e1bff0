"""`medledger` commands for the services, the paper's data client (each prints JSON):

medledger keys init                                          make your Umbral keys (sharing_keys, 0600)
medledger register ask --rid R --role patient --organisation MSP --public-key key.pem     (a manager)
medledger register pending | register approve ID                                        (the SA)
medledger register collect ID                                                          (the manager)
medledger directory publish | directory show PID
medledger appointment book --hospital H --doctor PID --disease TEXT | appointment list --hospital H
medledger appointment open --hospital H TID                                            (the doctor)
medledger record seal --emr F --shr F --out sealed.bin        encrypt EMR ‖ SHR; the data key goes to the keyring
medledger record sign --digest D --patient PID                (the doctor) sign a sealed record's digest
medledger record put --treatment TID --sealed sealed.bin --doctor PID --doctor-signature HEX
medledger record get --treatment TID --emr OUT --shr OUT      query, verify both signatures, fetch, decrypt
medledger share create --treatment TID --receiver PID [--threshold M] | share list | share revoke ID [--grant]
medledger share receive ID [--grant] --patient PID --emr OUT --shr OUT  (the receiver) collect, verify, decrypt
"""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from medledger_api.common import Role
from medledger_api.entities import PatientDataEntity, patient_signature_message
from medledger_api.registry import RegistrationRequest
from medledger_api.signed_request import RequestError, check_signature

from . import appointments, registration, sharing, storage
from .client_config import ClientConfig, ConfigError
from .files import atomic_file
from .gateway import Gateway
from .records import open_record, seal_record
from .service_client import ServiceClient
from .sharing_keys import SharingError, SharingKeys, WrappedKey, unwrap_own

Action = Callable[["Context", argparse.Namespace], Any]


@dataclass(frozen=True)
class Context:
    config: ClientConfig

    def client(self, service: str, audience: str) -> ServiceClient:
        endpoint = self.config.service(service)
        return ServiceClient(endpoint.address, audience, self.config.identity, endpoint.tls_ca.read_bytes())

    def hospital(self, name: str) -> ServiceClient:
        endpoint = self.config.hospital(name)
        return ServiceClient(
            endpoint.address, appointments.AUDIENCE, self.config.identity, endpoint.tls_ca.read_bytes()
        )

    def threshold_proxies(self, threshold: int) -> list[ServiceClient]:
        return [
            ServiceClient(endpoint.address, sharing.AUDIENCE, self.config.identity, endpoint.tls_ca.read_bytes())
            for endpoint in self.config.threshold_proxies(threshold)
        ]

    def registry(self) -> ServiceClient:
        return self.client("registry", registration.AUDIENCE)

    def keys(self) -> SharingKeys:
        return SharingKeys.load(self.config.sharing_keys_file())

    @property
    def pid(self) -> str:
        return self.config.identity.enrolment_id


# --- keys, registration, directory --------------------------------------------------------------------


def keys_init(context: Context, args: argparse.Namespace) -> Any:
    keys = SharingKeys.generate()
    keys.save(context.config.sharing_keys_file())
    return {"public_key": keys.public_key.hex(), "verifying_key": keys.verifying_key.hex()}


def register_ask(context: Context, args: argparse.Namespace) -> Any:
    pem = Path(args.public_key).read_bytes()
    load_pem_public_key(pem)  # a file that is not a public key is refused here, before anything is sent
    body = RegistrationRequest(
        rid=args.rid, role=Role(args.role), organisation=args.organisation, public_key=pem.decode()
    )
    return context.registry().call("POST", "/registrations", body)


def directory_publish(context: Context, args: argparse.Namespace) -> Any:
    registration.publish_keys(context.registry(), context.config.identity, context.pid, context.keys())
    return {"published": context.pid}


def directory_show(context: Context, args: argparse.Namespace) -> Any:
    return registration.look_up(context.registry(), args.pid).model_dump(mode="json")


# --- appointments ---------------------------------------------------------------------------------------


def appointment_book(context: Context, args: argparse.Namespace) -> Any:
    return appointments.book(context.hospital(args.hospital), args.doctor, args.disease).model_dump(mode="json")


def appointment_list(context: Context, args: argparse.Namespace) -> Any:
    return [found.model_dump(mode="json") for found in appointments.mine(context.hospital(args.hospital))]


def appointment_open(context: Context, args: argparse.Namespace) -> Any:
    found = [item for item in appointments.mine(context.hospital(args.hospital)) if item.tid == args.tid]
    if not found:
        raise ConfigError(f"no appointment {args.tid} of yours at {args.hospital}")
    return appointments.open_tsk(context.config.identity.private_key, found[0]).model_dump(mode="json")


# --- records --------------------------------------------------------------------------------------------


def _keyring_entry(context: Context, digest: str) -> Path:
    return context.config.keyring_folder() / f"{digest}.json"


def record_seal(context: Context, args: argparse.Namespace) -> Any:
    sealed = seal_record(Path(args.emr), Path(args.shr), Path(args.out), context.keys().public_key)
    context.config.keyring_folder().mkdir(parents=True, exist_ok=True, mode=0o700)
    wrapped = {
        "capsule": base64.b64encode(sealed.wrapped_key.capsule).decode(),
        "ciphertext": base64.b64encode(sealed.wrapped_key.ciphertext).decode(),
    }
    with atomic_file(_keyring_entry(context, sealed.digest)) as out:
        out.write(json.dumps(wrapped).encode())
    return {"digest": sealed.digest, "sealed": args.out, "length": sealed.length}


def _wrapped(context: Context, digest: str) -> WrappedKey:
    entry = json.loads(_keyring_entry(context, digest).read_text())
    return WrappedKey(base64.b64decode(entry["capsule"]), base64.b64decode(entry["ciphertext"]))


def record_sign(context: Context, args: argparse.Namespace) -> Any:
    signature = context.config.identity.sign(patient_signature_message(args.digest, args.patient))
    return {"doctor": context.pid, "doctor_signature": signature.hex()}


def record_put(context: Context, args: argparse.Namespace) -> Any:
    stored = storage.store(context.client("storage", storage.AUDIENCE), Path(args.sealed))
    record = PatientDataEntity.signed_by(
        context.config.identity,
        treatment=args.treatment,
        digest=stored.sha384,
        url=stored.url,
        doctor=args.doctor,
        doctor_signature=args.doctor_signature,
    )
    with Gateway(context.config.endpoint, context.config.identity) as gateway:
        committed = gateway.contract(context.config.index.channel, context.config.index.chaincode).submit(
            "SavePatientData", record.to_json()
        )
    return {"transactionId": committed.transaction_id, "block": committed.block, "record": record.to_wire()}


def _own_record(context: Context, treatment: str) -> PatientDataEntity:
    with Gateway(context.config.endpoint, context.config.identity) as gateway:
        answer = gateway.contract(context.config.index.channel, context.config.index.chaincode).evaluate(
            "QueryByPidAndTid", context.pid, treatment
        )
    return PatientDataEntity.from_wire(json.loads(answer))


def record_get(context: Context, args: argparse.Namespace) -> Any:
    record = _own_record(context, args.treatment)
    sharing.check_record_signature(record, context.config.identity.certificate)
    doctor = registration.look_up(context.registry(), record.doctor_pseudonym_id)
    message = patient_signature_message(record.data_message_digest, record.patient_pseudonym_id)
    try:
        check_signature(
            x509.load_pem_x509_certificate(doctor.certificate.encode()),
            base64.b64encode(bytes.fromhex(record.data_signature_doctor)).decode(),
            message,
        )
    except RequestError:
        raise SharingError("the record's doctor signature does not verify with the doctor's certificate") from None
    sealed = Path(args.emr).with_name(f".{record.data_message_digest[:16]}.sealed")
    storage.fetch(context.client("storage", storage.AUDIENCE), record.data_message_digest, sealed)
    try:
        data_key = unwrap_own(context.keys().secret_key, _wrapped(context, record.data_message_digest))
        open_record(sealed, data_key, Path(args.emr), Path(args.shr))
    finally:
        sealed.unlink(missing_ok=True)
    return {"verified": True, "record": record.to_wire(), "emr": args.emr, "shr": args.shr}


# --- shares ---------------------------------------------------------------------------------------------


def _proxy(context: Context) -> ServiceClient:
    return context.client("sharing_proxy", sharing.AUDIENCE)


def share_create(context: Context, args: argparse.Namespace) -> Any:
    record = _own_record(context, args.treatment)
    receiver = registration.look_up(context.registry(), args.receiver)
    wrapped = _wrapped(context, record.data_message_digest)
    if args.threshold is None:
        return sharing.share(_proxy(context), context.keys(), receiver, args.treatment, wrapped).model_dump(mode="json")
    proxies = context.threshold_proxies(args.threshold)
    made = sharing.share_among(proxies, context.keys(), receiver, args.treatment, wrapped, threshold=args.threshold)
    return {
        "grant": str(made[0].grant),
        "threshold": args.threshold,
        "shares": [s.model_dump(mode="json") for s in made],
    }


def share_revoke(context: Context, args: argparse.Namespace) -> Any:
    if not args.grant:
        sharing.revoke(_proxy(context), uuid.UUID(args.id))
        return {"revoked": args.id}
    revoked = sharing.revoke_grant(context.threshold_proxies(1), uuid.UUID(args.id))
    return {"revoked": [str(share_id) for share_id in revoked]}


def share_receive(context: Context, args: argparse.Namespace) -> Any:
    patient = registration.look_up(context.registry(), args.patient)
    if args.grant:
        received = sharing.receive_grant(context.threshold_proxies(1), uuid.UUID(args.id), context.keys(), patient)
    else:
        received = sharing.receive(_proxy(context), uuid.UUID(args.id), context.keys(), patient)
    sealed = Path(args.emr).with_name(f".{args.id}.sealed")
    storage.fetch(context.client("storage", storage.AUDIENCE), received.record.data_message_digest, sealed)
    try:
        sharing.check_ciphertext(received.record, sealed)
        open_record(sealed, received.data_key, Path(args.emr), Path(args.shr))
    finally:
        sealed.unlink(missing_ok=True)
    return {
        "verified": True,
        "record": received.record.to_wire(),
        "usage_transaction_id": received.delivery.usage_transaction_id,
        "emr": args.emr,
        "shr": args.shr,
    }


# argparse's own type for a group of subcommands; generic for type checkers only.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_commands(groups: Commands) -> None:
    """The service command groups, beside the ledger's `index` and `usage`."""

    def group(name: str, help_text: str) -> Commands:
        subparsers: Commands = groups.add_parser(name, help=help_text).add_subparsers(dest="command", required=True)
        return subparsers

    def command(
        commands: Commands, name: str, action: Action, help_text: str, *arguments: tuple[str, dict[str, Any]]
    ) -> None:
        parser = commands.add_parser(name, help=help_text)
        for flag, options in arguments:
            parser.add_argument(flag, **options)
        parser.set_defaults(service_action=action)

    required: dict[str, Any] = {"required": True}
    keys = group("keys", "your Umbral keys for sharing")
    command(keys, "init", keys_init, "make them (never overwrites)")
    register = group("register", "registrations at the registry (the paper's SA)")
    command(
        register,
        "ask",
        register_ask,
        "ask to register one of your organisation's people (a manager)",
        ("--rid", required),
        ("--role", {"required": True, "choices": [role.value for role in Role]}),
        ("--organisation", required),
        ("--public-key", {**required, "help": "their P-256 public key, PEM"}),
    )
    command(register, "pending", lambda c, a: c.registry().call("GET", "/registrations"), "requests waiting (the SA)")
    command(
        register,
        "approve",
        lambda c, a: c.registry().call("POST", f"/registrations/{uuid.UUID(a.id)}/approval"),
        "approve one (the SA)",
        ("id", {}),
    )
    command(
        register,
        "collect",
        lambda c, a: c.registry().call("GET", f"/registrations/{uuid.UUID(a.id)}"),
        "its state and, once, the enrolment secret (the manager)",
        ("id", {}),
    )
    directory = group("directory", "the certificate directory")
    command(directory, "publish", directory_publish, "publish your Umbral keys, signed by your enrolment key")
    command(directory, "show", directory_show, "someone's certificate and keys, their signature checked", ("pid", {}))
    appointment = group("appointment", "appointments at a hospital manager")
    hospital = ("--hospital", {**required, "help": "a hospital of the settings' hospital_managers"})
    command(
        appointment,
        "book",
        appointment_book,
        "book with a doctor (a patient)",
        hospital,
        ("--doctor", required),
        ("--disease", required),
    )
    command(appointment, "list", appointment_list, "your appointments", hospital)
    command(appointment, "open", appointment_open, "open an appointment's TSK (its doctor)", hospital, ("tid", {}))
    record = group("record", "your medical records: sealed, stored, indexed, read back")
    command(
        record,
        "seal",
        record_seal,
        "encrypt EMR ‖ SHR under a new data key (kept in your keyring)",
        ("--emr", required),
        ("--shr", required),
        ("--out", required),
    )
    command(
        record,
        "sign",
        record_sign,
        "sign a sealed record's digest for a patient (a doctor)",
        ("--digest", required),
        ("--patient", required),
    )
    command(
        record,
        "put",
        record_put,
        "store a sealed record and index it on the Patient Channel",
        ("--treatment", required),
        ("--sealed", required),
        ("--doctor", required),
        ("--doctor-signature", required),
    )
    command(
        record,
        "get",
        record_get,
        "read a record of yours back, verified and decrypted",
        ("--treatment", required),
        ("--emr", required),
        ("--shr", required),
    )
    share = group("share", "shares through the sharing proxy")
    command(
        share,
        "create",
        share_create,
        "share a record of yours with a registered receiver",
        ("--treatment", required),
        ("--receiver", required),
        ("--threshold", {"type": int, "help": "share M of n through the settings' sharing_proxies"}),
    )
    command(
        share,
        "list",
        lambda c, a: [s.model_dump(mode="json") for s in sharing.shares(_proxy(c))],
        "your shares, as patient or receiver",
    )
    grant_flag = ("--grant", {"action": "store_true", "help": "ID is a threshold grant's, at every sharing proxy"})
    command(share, "revoke", share_revoke, "withdraw a share not yet delivered", ("id", {}), grant_flag)
    command(
        share,
        "receive",
        share_receive,
        "collect a share made to you, verify and decrypt it",
        ("id", {}),
        grant_flag,
        ("--patient", required),
        ("--emr", required),
        ("--shr", required),
    )
