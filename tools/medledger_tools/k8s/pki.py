"""The cluster's certificates and kubeconfigs, made on the machine that runs it.

Two CAs as kubeadm makes them: one for Kubernetes (API server, kubelet, every client) and one for etcd, whose
only client is the API server. Every key is ECDSA P-256, written 0600 and never printed; a file that already
exists is kept, so `up` after `up` changes nothing.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 365


@dataclass(frozen=True)
class Leaf:
    """A certificate the cluster needs: who it names, which CA signs it, what it may do."""

    name: str
    common_name: str
    ca: str
    organisation: str | None = None
    server: bool = False
    client: bool = True
    dns_names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kubeconfig:
    """A client's kubeconfig: the user is its leaf certificate."""

    name: str
    leaf: str


@dataclass
class Pki:
    directory: Path
    leaves: Sequence[Leaf]
    kubeconfigs: Sequence[Kubeconfig] = field(default_factory=tuple)


def write_private(path: Path, data: bytes) -> None:
    """Created 0600 before the first byte lands, and in place only when complete."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    partial.rename(path)


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an ECDSA key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(path, pem)
    return key


def _name(common_name: str, organisation: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)] if organisation else []
    return x509.Name([*parts, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def ensure_ca(directory: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = load_or_create_key(directory / f"{name}.key")
    cert_path = directory / f"{name}.crt"
    if cert_path.exists():
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    subject = _name(f"medledger-k8s-{name}")
    cert = (
        _builder(subject, subject, key, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digital signature, certificate and CRL signing
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def issue_leaf(directory: Path, leaf: Leaf, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate) -> None:
    key = load_or_create_key(directory / f"{leaf.name}.key")
    cert_path = directory / f"{leaf.name}.crt"
    if cert_path.exists():
        return
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * leaf.server + [ExtendedKeyUsageOID.CLIENT_AUTH] * leaf.client
    builder = (
        _builder(_name(leaf.common_name, leaf.organisation), ca_cert.subject, key, LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in leaf.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in leaf.addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def kubeconfig_document(server: str, ca_file: Path, cert_file: Path, key_file: Path, user: str) -> dict[str, object]:
    """Files by path, not inlined: the kubeconfig then holds no key and may be read by whoever reads the cluster's
    address (the key file stays 0600)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "medledger", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert_file), "client-key": str(key_file)}}],
        "contexts": [{"name": "medledger", "context": {"cluster": "medledger", "user": user}}],
        "current-context": "medledger",
    }


def ensure_pki(pki: Pki, server: str) -> None:
    """Every CA, leaf and kubeconfig that is missing; the service-account signing key."""
    pki.directory.mkdir(parents=True, exist_ok=True)
    pki.directory.chmod(0o700)
    cas = {leaf.ca for leaf in pki.leaves}
    authorities = {ca: ensure_ca(pki.directory, ca) for ca in sorted(cas)}
    for leaf in pki.leaves:
        issue_leaf(pki.directory, leaf, *authorities[leaf.ca])
    service_accounts = load_or_create_key(pki.directory / "service-accounts.key")
    public = pki.directory / "service-accounts.pub"
    if not public.exists():
        public.write_bytes(
            service_accounts.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    leaves = {leaf.name: leaf for leaf in pki.leaves}
    for config in pki.kubeconfigs:
        leaf = leaves[config.leaf]
        document = kubeconfig_document(
            server,
            pki.directory / f"{leaf.ca}.crt",
            pki.directory / f"{leaf.name}.crt",
            pki.directory / f"{leaf.name}.key",
            leaf.common_name,
        )
        (pki.directory / f"{config.name}.kubeconfig").write_text(yaml.safe_dump(document, sort_keys=False))
