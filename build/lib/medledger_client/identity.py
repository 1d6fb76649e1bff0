"""A Fabric identity loaded from an MSP folder: who signs proposals and transactions, and with what key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from fabric_protos.msp import identities_pb2

# Fabric refuses ECDSA signatures whose s is in the upper half of the curve order (they are malleable).
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384}


class IdentityError(Exception):
    """An MSP folder or key this client cannot use."""


@dataclass(frozen=True)
class Identity:
    msp_id: str
    certificate_pem: bytes
    private_key: ec.EllipticCurvePrivateKey

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    @property
    def enrolment_id(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    def serialized(self) -> bytes:
        """The creator bytes Fabric puts in headers: MSP ID and PEM certificate."""
        return bytes(
            identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.certificate_pem).SerializeToString()
        )

    def sign(self, message: bytes) -> bytes:
        """DER ECDSA signature of message, hashed as the key's curve asks, with low s as Fabric requires."""
        algorithm = _HASHES.get(self.private_key.curve.name)
        if algorithm is None:
            raise IdentityError(f"keys on {self.private_key.curve.name} are not supported; use P-256 or P-384")
        r, s = decode_dss_signature(self.private_key.sign(message, ec.ECDSA(algorithm())))
        order = _CURVE_ORDERS[self.private_key.curve.name]
        return encode_dss_signature(r, min(s, order - s))


_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
}


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IdentityError(f"{path}: not an ECDSA key")
    return key


def from_msp_folder(msp_dir: Path, msp_id: str) -> Identity:
    """The identity in an MSP folder as fabric-ca-client writes it: signcerts/*.pem and keystore/*."""
    certificates = sorted((msp_dir / "signcerts").glob("*.pem"))
    keys = sorted(path for path in (msp_dir / "keystore").glob("*") if path.is_file())
    if len(certificates) != 1 or len(keys) != 1:
        raise IdentityError(
            f"{msp_dir}: want one certificate in signcerts/ and one key in keystore/, "
            f"found {len(certificates)} and {len(keys)}"
        )
    identity = Identity(msp_id, certificates[0].read_bytes(), load_key(keys[0]))
    public = identity.certificate.public_key()
    if (
        not isinstance(public, ec.EllipticCurvePublicKey)
        or public.public_numbers() != identity.private_key.public_key().public_numbers()
    ):
        raise IdentityError(f"{msp_dir}: the key in keystore/ does not belong to the certificate in signcerts/")
    return identity
