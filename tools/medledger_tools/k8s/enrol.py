"""medledger-k8s-enrol: a pod's TLS identity, enrolled where it is used and kept in a Secret.

It runs as the pod's init container. The first time, it makes a P-256 key inside the pod, enrols it with its
organisation's TLS CA (the identity registered for this pod; its secret is the Secret `<pod>-registration`,
which the registration Job writes: the pod waits for it), writes the key, the certificate, the TLS root, a PEM
key store (the key, the certificate and its chain: what Java's PEM key stores read) and a PEM trust store (the
issuing TLS CA alone) into the pod's memory-backed folder, and stores them in the Secret `<pod>-tls` through
the Kubernetes API, with the pod's own service account. A restart reads that Secret back instead of enrolling
again: the CA allows one enrolment per identity. No key is printed or logged.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from medledger_client.enrolment import Enrolled, EnrolmentError, enrol, write_private
from medledger_tools.k8s.incluster import ApiError, InCluster, SecretStore, stored_or_created

# What the TLS folder holds, and which of its files are private.
FILES = {"tls.key": True, "tls.crt": False, "ca.crt": False, "keystore.pem": True, "truststore.pem": False}
PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.DOTALL)


def tls_files(enrolled: Enrolled, tls_root: bytes) -> dict[str, bytes]:
    """The folder's files. The trust store holds only the TLS CA that issued this identity, not the root every
    organisation's TLS CA shares: Java accepts any chain up to an anchor of its trust store, so with the root
    there another organisation's TLS certificate would pass once its client sent its intermediate along."""
    key = enrolled.key_pem()
    issuer = PEM_CERTIFICATE.search(enrolled.chain_pem)
    if issuer is None:
        raise EnrolmentError("the CA answered without its certificate chain")
    return {"tls.key": key, "tls.crt": enrolled.certificate_pem, "ca.crt": tls_root,
            "keystore.pem": key + enrolled.certificate_pem + enrolled.chain_pem,
            "truststore.pem": issuer.group(0)}  # fmt: skip


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    missing = sorted(set(FILES) - set(files))
    if missing:
        raise ApiError(f"the stored identity lacks {', '.join(missing)}: delete the Secret to enrol again")
    folder.mkdir(parents=True, exist_ok=True)
    for name, private in FILES.items():
        if private:
            write_private(folder / name, files[name])
        else:
            (folder / name).write_bytes(files[name])


def ensure_identity(
    store: SecretStore, secret_name: str, folder: Path, tls_root: bytes, enrol_here: Callable[[], Enrolled]
) -> str:
    """The pod's TLS folder from its Secret, or from a new enrolment stored as that Secret; says which."""
    files, enrolled = stored_or_created(store, secret_name, lambda: tls_files(enrol_here(), tls_root))
    write_folder(folder, files)
    return "enrolled" if enrolled else "restored"


def registration_secret(store: SecretStore, name: str, timeout: float, pause: float = 2.0) -> str:
    """The enrolment secret the registration Job stored, waiting for the Job to get there."""
    deadline = time.monotonic() + timeout
    while True:
        stored = store.read(name)
        if stored is not None:
            if "secret" not in stored:
                raise ApiError(f"Secret {name} holds no `secret`")
            return stored["secret"].decode().strip()
        if time.monotonic() >= deadline:
            raise ApiError(f"no Secret {name} after {timeout:.0f} s: has the registration Job run?")
        time.sleep(pause)


def main(argv: Sequence[str] | None = None, store: SecretStore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s-enrol", description=__doc__.splitlines()[0])
    parser.add_argument("--ca-address", required=True, help="host:port of the organisation's Fabric CA server")
    parser.add_argument("--ca-name", required=True, help="the TLS CA's name on that server")
    parser.add_argument("--tls-root", type=Path, required=True, help="the offline TLS root's certificate")
    parser.add_argument("--enrolment-id", required=True)
    parser.add_argument("--registration-secret", required=True, help="the Secret holding the enrolment secret")
    parser.add_argument("--wait", type=float, default=600.0, help="seconds to wait for that Secret")
    parser.add_argument("--host", action="append", default=[], help="a DNS name the certificate names (repeat)")
    parser.add_argument("--out", type=Path, required=True, help="the pod's TLS folder")
    parser.add_argument("--secret-name", required=True, help="the Secret that keeps the identity")
    args = parser.parse_args(argv)
    try:
        tls_root = args.tls_root.read_bytes()
        store = store or InCluster.from_pod()
        secret = registration_secret(store, args.registration_secret, args.wait)
        outcome = ensure_identity(
            store,
            args.secret_name,
            args.out,
            tls_root,
            lambda: enrol(
                args.ca_address, args.ca_name, args.enrolment_id, secret, tls_root, tls_profile=True, hosts=args.host
            ),
        )
    except (ApiError, EnrolmentError, OSError, KeyError) as error:
        print(f"medledger-k8s-enrol: {args.enrolment_id}: {error}", file=sys.stderr)
        return 1
    print(f"medledger-k8s-enrol: {args.enrolment_id}: {outcome} ({args.secret_name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
