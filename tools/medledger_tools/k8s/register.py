"""medledger-k8s-register: a Fabric CA server's registrar registers the pods' identities (the registration Job).

For each identity it is given, the enrolment secret is kept in the Secret `<identity>-registration` (made here
the first time, immutable), which only the pod of that name may read, and the identity is registered at its CA
with that secret and one enrolment. A second run registers nothing new: an identity the CA already holds is
left as it is. The registrar enrols with a key made in memory for this run; secrets and keys are never printed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from medledger_client.enrolment import EnrolmentError, enrol, register
from medledger_client.identity import Identity
from medledger_tools.k8s.incluster import ApiError, InCluster, SecretStore, stored_or_created

# Fabric CA's answer to registering an ID it holds (lib/serverregister.go).
ALREADY_REGISTERED = "is already registered"
T = TypeVar("T")


@dataclass(frozen=True)
class Registration:
    name: str
    ca: str
    type: str
    affiliation: str
    # One per pod that enrols the identity: several share one (the Kafka brokers' subject towards ZooKeeper).
    enrolments: int = 1
    # Attributes in its certificate: a registrar's hf.Registrar.* (the registry's at each organisation's CAs).
    attributes: tuple[tuple[str, str], ...] = ()

    FORM = "NAME:CA:TYPE:AFFILIATION[:ENROLMENTS[:ATTRIBUTE=VALUE;...]]"

    @classmethod
    def parse(cls, text: str) -> Registration:
        parts = text.split(":")
        count = parts[4] if len(parts) >= 5 else "1"
        pairs = [pair.partition("=") for pair in parts[5].split(";")] if len(parts) == 6 else []
        if (
            not 4 <= len(parts) <= 6
            or not all(parts)
            or not count.isdigit()
            or int(count) < 1
            or not all(key and equals and value for key, equals, value in pairs)
        ):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {cls.FORM}")
        name, ca, identity_type, affiliation = parts[:4]
        attributes = tuple(sorted((key, value) for key, _equals, value in pairs))
        return cls(name, ca, identity_type, affiliation, int(count), attributes)

    @property
    def secret_name(self) -> str:
        return f"{self.name}-registration"


def enrolment_secret(store: SecretStore, registration: Registration) -> str:
    """The identity's secret: the one stored by an earlier run, or a new one stored now (before the CA knows it,
    so that a run stopped between the two steps finishes the registration with the same secret)."""
    stored, _ = stored_or_created(
        store, registration.secret_name, lambda: {"secret": secrets.token_urlsafe(24).encode()}
    )
    if "secret" not in stored:
        raise ApiError(f"Secret {registration.secret_name} holds no `secret`")
    return stored["secret"].decode().strip()


def register_all(
    store: SecretStore,
    registrations: Sequence[Registration],
    registrar_at: Callable[[str], Identity],
    register_one: Callable[[Registration, Identity, str], None],
) -> list[str]:
    """Register every identity; one line each, `registered` or `kept`."""
    report = []
    for registration in registrations:
        secret = enrolment_secret(store, registration)
        try:
            register_one(registration, registrar_at(registration.ca), secret)
            report.append(f"registered {registration.name} at {registration.ca}")
        except EnrolmentError as error:
            if ALREADY_REGISTERED not in str(error):
                raise
            report.append(f"kept {registration.name} at {registration.ca} (already registered)")
    return report


def patiently(action: Callable[[], T], timeout: float, pause: float = 3.0) -> T:
    """The CA server starts only once its certificates are signed: retry what fails to reach it, until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except EnrolmentError as error:
            if time.monotonic() >= deadline or "Authentication failure" in str(error):
                raise
            time.sleep(pause)


def main(argv: Sequence[str] | None = None, store: SecretStore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s-register", description=__doc__.splitlines()[0])
    parser.add_argument("--ca-address", required=True, help="host:port of the Fabric CA server")
    parser.add_argument("--tls-root", type=Path, required=True, help="the offline TLS root's certificate")
    parser.add_argument("--registrar-name", required=True)
    parser.add_argument("--registrar-secret-file", type=Path, required=True)
    parser.add_argument("--registration", type=Registration.parse, action="append", default=[],
                        help="NAME:CA:TYPE:AFFILIATION[:ENROLMENTS] of an identity to register (repeat)")  # fmt: skip
    parser.add_argument("--wait", type=float, default=900.0, help="seconds to wait for the CA server to answer")
    args = parser.parse_args(argv)
    try:
        tls_root = args.tls_root.read_bytes()
        registrar_secret = args.registrar_secret_file.read_text().strip()
        store = store or InCluster.from_pod()
        registrars: dict[str, Identity] = {}

        def registrar_at(ca: str) -> Identity:
            if ca not in registrars:
                enrolled = patiently(
                    lambda: enrol(args.ca_address, ca, args.registrar_name, registrar_secret, tls_root), args.wait
                )
                # Fabric CA reads the token's certificate, never an MSP ID.
                registrars[ca] = Identity("", enrolled.certificate_pem, enrolled.key)
            return registrars[ca]

        def register_one(registration: Registration, registrar: Identity, secret: str) -> None:
            register(args.ca_address, registration.ca, registrar, tls_root, enrolment_id=registration.name,
                     secret=secret, affiliation=registration.affiliation, attributes=dict(registration.attributes),
                     max_enrollments=registration.enrolments, identity_type=registration.type)  # fmt: skip

        for line in register_all(store, args.registration, registrar_at, register_one):
            print(f"medledger-k8s-register: {line}", flush=True)
    except (ApiError, EnrolmentError, OSError) as error:
        print(f"medledger-k8s-register: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
