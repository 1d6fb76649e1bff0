"""medledger-k8s-ca-init: a Fabric CA server's keys and certificates, made in its pod, signed by the offline roots.

The init container of each CA server (helm/fabric-ca). For the server's TLS CA, each organisation CA it hosts
and its own TLS certificate: the key is made here, its request goes to Kubernetes' CSR API for the
`medledger.org/<root>-root` signer, and the operator's `medledger-k8s-sign` answers it on the control node.
The key, the certificate and the chain (certificate, then root) are kept in an immutable Secret, so that a
restart does not ask again; then the server's configuration files are written with the registrar's secret.
"""

from __future__ import annotations

import argparse
import string
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medledger_client.enrolment import write_private
from medledger_tools.k8s.incluster import ApiError, InCluster, SecretStore, SigningRequests
from medledger_tools.k8s.signing import SIGNER_DOMAIN

AUTHORITY_USAGES = ["cert sign", "crl sign", "digital signature"]
SERVER_USAGES = ["digital signature", "key encipherment", "server auth"]


@dataclass(frozen=True)
class Wanted:
    """A certificate the server needs: its common name, the root that signs it, where its files go."""

    common_name: str
    root: str
    folder: str
    authority: bool

    @classmethod
    def parse(cls, text: str, authority: bool) -> Wanted:
        """`name:root:folder`, as the chart passes them."""
        try:
            common_name, root, folder = text.split(":")
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not name:root:folder") from None
        return cls(common_name, root, folder, authority)


def signing_request(key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def first_certificate(chain: bytes) -> bytes:
    end = b"-----END CERTIFICATE-----"
    return chain[: chain.index(end) + len(end)] + b"\n"


def obtain(
    wanted: Wanted,
    store: SecretStore,
    requests: SigningRequests,
    name: str,
    *,
    timeout: float,
    pause: float = 3.0,
) -> dict[str, bytes]:
    """key.pem, cert.pem and chain.pem: from the Secret `name`, or made here and signed through the CSR API (the
    request is named `name` too)."""
    secret_name = request_name = name
    stored = store.read(secret_name)
    if stored is not None:
        return stored
    key = ec.generate_private_key(ec.SECP256R1())
    usages = AUTHORITY_USAGES if wanted.authority else SERVER_USAGES
    requests.submit(request_name, signing_request(key, wanted.common_name), f"{SIGNER_DOMAIN}/{wanted.root}-root",
                    usages)  # fmt: skip
    print(f"medledger-k8s-ca-init: {wanted.common_name}: waiting for `medledger-k8s-sign` ({request_name})",
          flush=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        chain, denied = requests.answer(request_name)
        if denied is not None:
            raise ApiError(f"{wanted.common_name}: the {wanted.root} root denied it: {denied}")
        if chain is not None:
            break
        if time.monotonic() >= deadline:
            raise ApiError(f"{wanted.common_name}: not signed within {timeout:.0f} s (run medledger-k8s-sign)")
        time.sleep(pause)
    files = {
        "key.pem": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "cert.pem": first_certificate(chain),
        "chain.pem": chain,
    }
    if not store.create(secret_name, files):
        # A start before this one stored its own: its key is the one the certificate in the Secret names.
        again = store.read(secret_name)
        if again is None:
            raise ApiError(f"Secret {secret_name} exists and cannot be read")
        return again
    return files


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(folder / "key.pem", files["key.pem"])
    for name in ("cert.pem", "chain.pem"):
        (folder / name).write_bytes(files[name])


SERVER_CONFIG = "fabric-ca-server-config.yaml"


def write_configuration(templates: Path, target: Path, registrar_secret: str) -> None:
    """Each template of the chart's ConfigMap with the registrar's secret in place, 0600 (it holds it): the
    server's file in `target`, each other CA's `<name>.yaml` as `<name>/fabric-ca-config.yaml`. Fabric CA makes a
    CA file's folder that CA's home, where it writes keys of its own: one folder each, in the pod's memory."""
    for template in sorted(templates.glob("*.yaml")):
        text = string.Template(template.read_text()).substitute(REGISTRAR_SECRET=registrar_secret)
        path = (
            target / SERVER_CONFIG
            if template.name == SERVER_CONFIG
            else target / template.stem / "fabric-ca-config.yaml"
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(path, text.encode())


def main(argv: Sequence[str] | None = None, store: SecretStore | None = None,
         requests: SigningRequests | None = None) -> int:  # fmt: skip
    parser = argparse.ArgumentParser(prog="medledger-k8s-ca-init", description=__doc__.splitlines()[0])
    parser.add_argument("--authority", action="append", default=[], type=lambda text: Wanted.parse(text, True),
                        help="name:root:folder of a CA the server hosts (repeat)")  # fmt: skip
    parser.add_argument("--server-tls", required=True, type=lambda text: Wanted.parse(text, False),
                        help="name:root:folder of the server's TLS certificate")  # fmt: skip
    parser.add_argument("--prefix", required=True, help="names the Secrets and the requests: <prefix>-<name>")
    parser.add_argument("--keys", type=Path, required=True, help="the pod's in-memory folder for keys")
    parser.add_argument("--templates", type=Path, required=True, help="the configuration templates (ConfigMap)")
    parser.add_argument("--registrar-secret-file", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True, help="where the configuration goes")
    parser.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for each signature")
    args = parser.parse_args(argv)
    try:
        cluster = None if store is not None and requests is not None else InCluster.from_pod()
        store = store or cluster
        requests = requests or cluster
        assert store is not None and requests is not None
        for wanted in [*args.authority, args.server_tls]:
            name = f"{args.prefix}-{wanted.common_name}".replace("_", "-").lower()
            files = obtain(wanted, store, requests, name, timeout=args.wait)
            write_files(args.keys / wanted.folder, files)
        write_configuration(args.templates, args.config, args.registrar_secret_file.read_text().strip())
    except (ApiError, OSError, KeyError, ValueError) as error:
        print(f"medledger-k8s-ca-init: {error}", file=sys.stderr)
        return 1
    print(f"medledger-k8s-ca-init: {len(args.authority)} CA(s) and the server's TLS certificate in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
