"""Fabric MSP folders on the cluster: a pod's own (its signing identity) and each organisation's verifying one
(what configtxgen writes into a channel's configuration), both laid out as the VMs' are (roles/fabric_msp).

A chain a Fabric CA serves is its own certificate followed by the offline root's; it is accepted only when it
ends at the root the cluster trusts (the `<release>-trust` ConfigMap) and that root signed the CA: a CA server
under another root would otherwise put its organisation's identities into every channel's configuration.
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.exceptions import InvalidSignature

PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.DOTALL)
# An identity's role is the OU its organisation's CA gave it (the registration type), as on the VMs.
OU_ROLES = (("ClientOUIdentifier", "client"), ("PeerOUIdentifier", "peer"), ("AdminOUIdentifier", "admin"),
            ("OrdererOUIdentifier", "orderer"))  # fmt: skip
NODE_OUS = "NodeOUs:\n  Enable: true\n" + "".join(
    f"  {field}:\n    Certificate: intermediatecerts/ca.pem\n    OrganizationalUnitIdentifier: {role}\n"
    for field, role in OU_ROLES
)


class ChainError(Exception):
    """A CA's chain that does not lead to the offline root."""


def certificates(pem: bytes) -> list[bytes]:
    return [match.group(0) for match in PEM_CERTIFICATE.finditer(pem)]


def issuing_ca(chain_pem: bytes, root_pem: bytes, what: str) -> bytes:
    """The CA certificate of a served chain (its first), once the chain is shown to end at root_pem, which signed
    it."""
    chain = certificates(chain_pem)
    if len(chain) < 2:
        raise ChainError(f"{what}: the CA served {len(chain)} certificate(s), not its own and the root's")
    root = x509.load_pem_x509_certificate(root_pem)
    if x509.load_pem_x509_certificate(chain[-1]) != root:
        raise ChainError(f"{what}: the CA's chain does not end at the offline root")
    try:
        x509.load_pem_x509_certificate(chain[0]).verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise ChainError(f"{what}: the offline root did not sign the CA's certificate") from None
    return chain[0]


def verifying_msp(enrolment_ca: bytes, enrolment_root: bytes, tls_ca: bytes, tls_root: bytes) -> dict[str, bytes]:
    """An organisation's verifying MSP, path -> content: public certificates and the NodeOUs only."""
    return {
        "cacerts/root.pem": enrolment_root,
        "intermediatecerts/ca.pem": enrolment_ca,
        "tlscacerts/root.pem": tls_root,
        "tlsintermediatecerts/ca.pem": tls_ca,
        "config.yaml": NODE_OUS.encode(),
    }
