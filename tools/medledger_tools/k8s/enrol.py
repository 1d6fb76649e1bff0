"""medledger-k8s-enrol: a pod's TLS or MSP identity, enrolled where it is used and kept in a Secret.

It runs as the pod's init container. The first time, it makes a P-256 key inside the pod, enrols it with its
organisation's CA (the identity registered for this pod; its secret is the Secret `<pod>-registration`, which the
registration Job writes: the pod waits for it), writes the identity's files into the pod's memory-backed folder
and stores them in a Secret (`<pod>-tls`, `<pod>-msp`) through the Kubernetes API, with the pod's own service
account. A restart reads that Secret back instead of enrolling again: the CA allows one enrolment per identity.
No key is printed or logged.

- `--kind tls`, at its organisation's TLS CA, for the names the pod answers to: the key, the certificate, the TLS
  root, a PEM key store (the key, the certificate and its chain: what Java's PEM key stores read) and a PEM trust
  store (the issuing TLS CA alone).
- `--kind msp`, at its organisation's enrolment CA (its role is the registration's type): a Fabric MSP folder,
  keystore/, signcerts/, cacerts/ (the offline enrolment root, which the CA's chain must end at),
  intermediatecerts/ (the CA) and the NodeOUs' config.yaml.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from medledger_client.enrolment import Enrolled, EnrolmentError, enrol, write_private
from medledger_tools.k8s.incluster import ApiError, InCluster, SecretStore, awaited_secret, stored_or_created
from medledger_tools.k8s.msp import NODE_OUS, ChainError, certificates, issuing_ca

# What each kind of folder holds: the Secret's key (Secrets' keys have no folders) -> (path, private).
LAYOUTS = {
    "tls": {"tls.key": ("tls.key", True), "tls.crt": ("tls.crt", False), "ca.crt": ("ca.crt", False),
            "keystore.pem": ("keystore.pem", True), "truststore.pem": ("truststore.pem", False)},
    "msp": {"key.pem": ("keystore/key.pem", True), "cert.pem": ("signcerts/cert.pem", False),
            "root.pem": ("cacerts/root.pem", False), "ca.pem": ("intermediatecerts/ca.pem", False),
            "config.yaml": ("config.yaml", False)},
}  # fmt: skip


def tls_files(enrolled: Enrolled, tls_root: bytes) -> dict[str, bytes]:
    """The folder's files. The trust store holds only the TLS CA that issued this identity, not the root every
    organisation's TLS CA shares: Java accepts any chain up to an anchor of its trust store, so with the root
    there another organisation's TLS certificate would pass once its client sent its intermediate along."""
    key = enrolled.key_pem()
    chain = certificates(enrolled.chain_pem)
    if not chain:
        raise EnrolmentError("the CA answered without its certificate chain")
    return {"tls.key": key, "tls.crt": enrolled.certificate_pem, "ca.crt": tls_root,
            "keystore.pem": key + enrolled.certificate_pem + enrolled.chain_pem,
            "truststore.pem": chain[0]}  # fmt: skip


def msp_files(enrolled: Enrolled, enrolment_root: bytes) -> dict[str, bytes]:
    """The MSP folder's files; the CA's chain must lead to the offline enrolment root."""
    try:
        ca = issuing_ca(enrolled.chain_pem, enrolment_root, "the enrolment CA")
    except ChainError as error:
        raise EnrolmentError(str(error)) from None
    return {"key.pem": enrolled.key_pem(), "cert.pem": enrolled.certificate_pem, "root.pem": enrolment_root,
            "ca.pem": ca, "config.yaml": NODE_OUS.encode()}  # fmt: skip


def write_folder(folder: Path, kind: str, files: dict[str, bytes]) -> None:
    layout = LAYOUTS[kind]
    missing = sorted(set(layout) - set(files))
    if missing:
        raise ApiError(f"the stored identity lacks {', '.join(missing)}: delete the Secret to enrol again")
    for name, (path, private) in layout.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if private:
            write_private(target, files[name])
        else:
            target.write_bytes(files[name])
    if kind == "tls":
        # What Go servers and clients present: the certificate with its issuing TLS CA, which a peer of another
        # organisation needs to reach the root it trusts.
        (folder / "tls-chain.crt").write_bytes(files["tls.crt"] + files["truststore.pem"])


def ensure_identity(
    store: SecretStore, secret_name: str, folder: Path, kind: str, make_files: Callable[[], dict[str, bytes]]
) -> str:
    """The pod's identity folder from its Secret, or from a new enrolment stored as that Secret; says which."""
    files, enrolled = stored_or_created(store, secret_name, make_files)
    write_folder(folder, kind, files)
    return "enrolled" if enrolled else "restored"


def registration_secret(store: SecretStore, name: str, timeout: float, pause: float = 2.0) -> str:
    """The enrolment secret the registration Job stored, waiting for the Job to get there."""
    return awaited_secret(store, name, "secret", timeout, maker="registration Job", pause=pause).decode().strip()


def main(argv: Sequence[str] | None = None, store: SecretStore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s-enrol", description=__doc__.splitlines()[0])
    parser.add_argument("--ca-address", required=True, help="host:port of the organisation's Fabric CA server")
    parser.add_argument("--ca-name", required=True, help="the CA's name on that server")
    parser.add_argument("--kind", choices=sorted(LAYOUTS), default="tls", help="a TLS identity or an MSP")
    parser.add_argument("--tls-root", type=Path, required=True, help="the offline TLS root's certificate")
    parser.add_argument("--enrolment-root", type=Path, help="the offline enrolment root's certificate (--kind msp)")
    parser.add_argument("--enrolment-id", required=True)
    parser.add_argument("--registration-secret", required=True, help="the Secret holding the enrolment secret")
    parser.add_argument("--wait", type=float, default=600.0, help="seconds to wait for that Secret")
    parser.add_argument("--host", action="append", default=[], help="a DNS name the certificate names (repeat)")
    parser.add_argument("--out", type=Path, required=True, help="the identity's folder")
    parser.add_argument("--secret-name", required=True, help="the Secret that keeps the identity")
    args = parser.parse_args(argv)
    if args.kind == "msp" and (args.enrolment_root is None or args.host):
        parser.error("--kind msp needs --enrolment-root and takes no --host")
    try:
        tls_root = args.tls_root.read_bytes()
        enrolment_root = args.enrolment_root.read_bytes() if args.enrolment_root else b""
        store = store or InCluster.from_pod()
        secret = registration_secret(store, args.registration_secret, args.wait)

        def make_files() -> dict[str, bytes]:
            if args.kind == "msp":
                return msp_files(enrol(args.ca_address, args.ca_name, args.enrolment_id, secret, tls_root),
                                 enrolment_root)  # fmt: skip
            enrolled = enrol(
                args.ca_address, args.ca_name, args.enrolment_id, secret, tls_root, tls_profile=True, hosts=args.host
            )
            return tls_files(enrolled, tls_root)

        outcome = ensure_identity(store, args.secret_name, args.out, args.kind, make_files)
    except (ApiError, EnrolmentError, OSError, KeyError) as error:
        print(f"medledger-k8s-enrol: {args.enrolment_id}: {error}", file=sys.stderr)
        return 1
    print(f"medledger-k8s-enrol: {args.enrolment_id}: {outcome} ({args.secret_name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
