"""medledger-k8s-sign: the offline roots sign the cluster's intermediate CAs through Kubernetes' CSR API.

A Fabric CA server's pod makes each of its CAs' keys itself and asks for their certificates with a
CertificateSigningRequest whose signer is `medledger.org/<root>-root` (`tls` or `enrolment`, the roots
`roles/pki_root` keeps on the control node). On the control node, this command reads the pending requests,
signs each one the topology expects, from the service account that may ask for it, with the right root, and
denies the rest; the certificate it writes carries the extensions it decides (a CA one level deep, or the
server's TLS certificate for its service's names), not those the request asks for. The roots' keys are opened
with ansible-vault in memory and go nowhere else. It also publishes the roots' certificates in the ConfigMap
`<release>-trust` (`tls-root.pem`, `enrolment-root.pem`), which the pods that enrol read.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medledger_tools import topology

SIGNER_DOMAIN = "medledger.org"
AUTHORITY_DAYS = 3650
TLS_DAYS = 825
# Fabric's MSP checks a chain as of the moment its leaf begins, and Fabric CA backdates a leaf 5 minutes: a CA
# certificate begins an hour before it is signed (never before its root), so that the first leaves it issues pass.
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Expected:
    """A certificate the topology expects a CA server's pod to ask for."""

    common_name: str
    organisation: str
    root: str
    requester: str
    authority: bool
    dns_names: tuple[str, ...] = ()

    @property
    def signer(self) -> str:
        return f"{SIGNER_DOMAIN}/{self.root}-root"


@dataclass(frozen=True)
class Decision:
    sign: bool
    reason: str
    expected: Expected | None = None


def server_names(release: str, server: str, namespace: str, domain: str = "cluster.local") -> tuple[str, ...]:
    """The DNS names of a CA server's Service, as helm/fabric-ca names it."""
    service = f"{release}-fabric-ca-{server}"
    return (service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.{domain}")


def expected_requests(values: Mapping[str, Any], namespace: str, release: str) -> dict[str, Expected]:
    """By common name: every CA of every Fabric CA server in the umbrella's values, and each server's TLS
    certificate, each asked for by that server's service account."""
    organisations = values["global"]["organisations"]
    expected: dict[str, Expected] = {}
    for server in values["fabric-ca"]["servers"]:
        name = server["name"]
        requester = f"system:serviceaccount:{namespace}:{release}-fabric-ca-{name}"
        for authority in topology.ca_authorities(organisations, name):
            expected[authority["name"]] = Expected(authority["name"], authority["organisation"], authority["root"],
                                                   requester, authority=True)  # fmt: skip
        names = server_names(release, name, namespace)
        expected[names[0]] = Expected(names[0], "MedLedger TLS", "tls", requester, authority=False, dns_names=names)
    return expected


def decide(request: Mapping[str, Any], expected: Mapping[str, Expected]) -> Decision | None:
    """What to do with one CertificateSigningRequest object: None when it is not ours or already answered."""
    spec, status = request["spec"], request.get("status") or {}
    if not str(spec.get("signerName", "")).startswith(f"{SIGNER_DOMAIN}/") or status.get("certificate"):
        return None
    if any(condition.get("type") in ("Approved", "Denied") for condition in status.get("conditions", [])):
        return None
    try:
        csr = x509.load_pem_x509_csr(base64.b64decode(spec["request"]))
    except ValueError:
        return Decision(False, "the request is not a PEM certificate signing request")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    wanted = expected.get(common_name)
    if wanted is None:
        return Decision(False, f"no CA server of the topology has a certificate named {common_name!r}")
    reason = refusal(spec, csr, wanted)
    if reason is not None:
        return Decision(False, f"{common_name}: {reason}")
    kind = "CA" if wanted.authority else "TLS server"
    return Decision(True, f"{common_name}: {kind} under the {wanted.root} root", wanted)


def refusal(spec: Mapping[str, Any], csr: x509.CertificateSigningRequest, wanted: Expected) -> str | None:
    """Why a request for an expected name is still refused: asked by someone else, for another root, with
    another kind of key, or not signed by its own key."""
    if spec.get("username") != wanted.requester:
        return f"{wanted.requester}'s to ask for, not {spec.get('username')}'s"
    if spec["signerName"] != wanted.signer:
        return f"signed by {wanted.signer}, not {spec['signerName']}"
    key = csr.public_key()
    if not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"):
        return "the key must be ECDSA P-256"
    if not csr.is_signature_valid:
        return "the request's signature does not verify"
    return None


def issue(request_pem: bytes, wanted: Expected, root_key: ec.EllipticCurvePrivateKey, root: x509.Certificate) -> bytes:
    """The certificate for the request's key with the extensions the topology decides."""
    csr = x509.load_pem_x509_csr(request_pem)
    key = csr.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    now = datetime.datetime.now(datetime.UTC)
    days = AUTHORITY_DAYS if wanted.authority else TLS_DAYS
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, wanted.organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, wanted.common_name),
                ]
            )
        )
        .issuer_name(root.subject)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(max(now - BACKDATE, root.not_valid_before_utc))
        .not_valid_after(min(now + datetime.timedelta(days=days), root.not_valid_after_utc))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
    )
    if wanted.authority:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in wanted.dns_names]), critical=False
            )
        )
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


Kubectl = Callable[..., str]


def answer_pending(
    kubectl: Kubectl,
    expected: Mapping[str, Expected],
    roots: Mapping[str, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]],
) -> list[str]:
    """Approve and sign, or deny, every pending request for our signers; one line each. The answer is the
    certificate followed by the root's: the chain a Fabric CA serves."""
    report = []
    for request in json.loads(kubectl("get", "certificatesigningrequests", "-o", "json"))["items"]:
        decision = decide(request, expected)
        if decision is None:
            continue
        name = request["metadata"]["name"]
        if not decision.sign or decision.expected is None:
            denial = {"status": {"conditions": [{"type": "Denied", "status": "True", "reason": "NotInTopology",
                                                 "message": decision.reason}]}}  # fmt: skip
            kubectl("patch", "certificatesigningrequest", name, "--subresource=approval", "--type=merge",
                    f"--patch={json.dumps(denial)}")  # fmt: skip
            report.append(f"denied {name}: {decision.reason}")
            continue
        root_key, root = roots[decision.expected.root]
        certificate = issue(base64.b64decode(request["spec"]["request"]), decision.expected, root_key, root)
        chain = certificate + root.public_bytes(serialization.Encoding.PEM)
        kubectl("certificate", "approve", name)
        patch = {"status": {"certificate": base64.b64encode(chain).decode()}}
        kubectl("patch", "certificatesigningrequest", name, "--subresource=status", "--type=merge",
                f"--patch={json.dumps(patch)}")  # fmt: skip
        report.append(f"signed {name}: {decision.reason}")
    return report


def issued(kubectl: Kubectl, expected: Mapping[str, Expected]) -> set[str]:
    """The expected names that a request of our signers holds a certificate for."""
    names: set[str] = set()
    for request in json.loads(kubectl("get", "certificatesigningrequests", "-o", "json"))["items"]:
        spec, status = request["spec"], request.get("status") or {}
        if str(spec.get("signerName", "")).startswith(f"{SIGNER_DOMAIN}/") and status.get("certificate"):
            csr = x509.load_pem_x509_csr(base64.b64decode(spec["request"]))
            names.update(str(name.value) for name in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    return names & set(expected)


def trust_config_map(namespace: str, release: str, roots: Mapping[str, tuple[Any, x509.Certificate]]) -> str:
    """The roots' certificates (public), for the pods that check a CA server's TLS or a chain against them."""
    return json.dumps({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{release}-trust", "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "medledger-k8s-sign",
                                "app.kubernetes.io/instance": release}},
        "data": {f"{name}-root.pem": root.public_bytes(serialization.Encoding.PEM).decode()
                 for name, (_key, root) in sorted(roots.items())},
    })  # fmt: skip


def kubectl_runner(binary: str, kubeconfig: str | None) -> Kubectl:
    def run(*arguments: str, stdin: str | None = None) -> str:
        command = [binary, *([f"--kubeconfig={kubeconfig}"] if kubeconfig else []), *arguments]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {arguments[0]}: {result.stderr.strip()}")
        return result.stdout

    return run


def load_root(pki_dir: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A root's certificate and its key, decrypted by ansible-vault (this checkout's vault password) in memory."""
    opened = subprocess.run(["ansible-vault", "view", str(pki_dir / f"{name}-root.key.vault")],
                            capture_output=True, check=False)  # fmt: skip
    if opened.returncode != 0:
        raise RuntimeError(f"ansible-vault could not open the {name} root's key in {pki_dir}")
    key = serialization.load_pem_private_key(opened.stdout, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RuntimeError(f"the {name} root's key is not ECDSA")
    return key, x509.load_pem_x509_certificate((pki_dir / f"{name}-root.pem").read_bytes())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s-sign", description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=Path, required=True, help="the umbrella's values (medledger-helm-values)")
    parser.add_argument("--pki-dir", type=Path, required=True, help="the offline roots' folder (medledger_pki_dir)")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--release", required=True)
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--kubeconfig")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="keep answering, up to this many seconds, until every expected certificate is issued",
    )
    args = parser.parse_args(argv)
    missing: list[str] = []
    try:
        expected = expected_requests(yaml.safe_load(args.values.read_text()), args.namespace, args.release)
        roots = {name: load_root(args.pki_dir, name) for name in ("enrolment", "tls")}
        kubectl = kubectl_runner(args.kubectl, args.kubeconfig)
        kubectl("apply", "--filename=-", stdin=trust_config_map(args.namespace, args.release, roots))
        deadline = time.monotonic() + args.wait
        while True:
            for line in answer_pending(kubectl, expected, roots):
                print(line, flush=True)
            missing = sorted(set(expected) - issued(kubectl, expected)) if args.wait else []
            if not missing or time.monotonic() >= deadline:
                break
            time.sleep(2)
    except (RuntimeError, OSError, KeyError) as error:
        print(f"medledger-k8s-sign: {error}", file=sys.stderr)
        return 1
    if missing:
        print(f"medledger-k8s-sign: not asked for within {args.wait:.0f} s: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
