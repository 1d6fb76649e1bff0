"""The hospital manager seals a doctor's TSK (PID ‖ TID ‖ disease information ‖ patient certificate) to the doctor.

HPKE (RFC 9180, base mode: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) encrypts to the P-256 key of the
doctor's enrolment certificate, so whoever holds the certificate can seal and only the doctor can open. The `context`
goes into HPKE's info, so that a box sealed for one purpose does not open as another.

Reusing the ECDSA enrolment key for ECDH is a choice, not a proof: the certificate already binds that key to the
doctor, HPKE only runs ECDH with it and derives keys through labelled HKDF while ECDSA only signs digests, and no
attack combining the two is known; joint security is proved for EC-Schnorr with ECIES (Degabriele et al., CT-RSA
2012), not for ECDSA. The way out, if that is judged too weak, is a separate encryption key per user published in
the directory signed by the enrolment key, as the sharing keys are.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec

TSK_CONTEXT = b"medledger/tsk/v1"

_SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class SealedBoxError(ValueError):
    """A box that does not open (wrong recipient or context, or altered), or a key or context it cannot use."""


def seal(recipient_public_key: ec.EllipticCurvePublicKey, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt plaintext so that only the holder of the matching private key opens it, under the same context."""
    _check(recipient_public_key.curve, context)
    return _SUITE.encrypt(plaintext, recipient_public_key, info=context)


def open_sealed(recipient_private_key: ec.EllipticCurvePrivateKey, sealed: bytes, context: bytes) -> bytes:
    _check(recipient_private_key.curve, context)
    try:
        return _SUITE.decrypt(sealed, recipient_private_key, info=context)
    except (InvalidTag, ValueError):
        raise SealedBoxError("the sealed box does not open: another recipient or context, or it was altered") from None


def _check(curve: ec.EllipticCurve, context: bytes) -> None:
    if not isinstance(curve, ec.SECP256R1):
        raise SealedBoxError(f"sealed boxes use P-256 keys, not {curve.name}")
    if not context:
        raise SealedBoxError("a sealed box needs a context, which keeps purposes apart")
