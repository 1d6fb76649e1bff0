"""Proxy re-encryption of records' data keys with Umbral (umbral_pre): sharing a record hands out no secret key.

The paper's "re-encryption key" lets whoever holds it read the data. Umbral (Nuñez, NuCypher) is threshold proxy
re-encryption: a record's data key is wrapped to the patient's own Umbral public key; to share, the patient grants
key fragments (kfrags) for the receiver's public key, signed together with both public keys so that a proxy and the
receiver can check who granted them and to whom; a proxy turns the wrapped key's capsule into a capsule fragment
(cfrag) with a kfrag, learning nothing of the data key; and the receiver opens the data key with `threshold` cfrags.

Public keys travel as 33-byte compressed points. Secret keys stay in a SharingKeys file of mode 0600; they are never
logged nor put in messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import umbral_pre

from .enrolment import write_private

# umbral_pre raises it, but its stubs do not declare it.
_VerificationError: type[Exception] = umbral_pre.VerificationError  # type: ignore[attr-defined]

_FILE_MAGIC = b"medledger-umbral-keys-v1\n"
_SECRET_KEY_SIZE = 32

_Parsed = TypeVar("_Parsed")


class SharingError(ValueError):
    """A key, capsule or fragment that is malformed or does not verify, or a key file that cannot be used."""


class TooFewFragments(SharingError):
    """Capsule fragments that each verify but together do not open the key: fewer than the grant's threshold
    (Umbral cannot tell that from an altered key ciphertext)."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted to an Umbral public key: the capsule proxies re-encrypt, and the key's ciphertext."""

    capsule: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class SharingKeys:
    """A client's Umbral keys: one decrypts (and delegates decryption), the other signs the kfrags it grants."""

    secret_key: umbral_pre.SecretKey = field(repr=False)
    signing_key: umbral_pre.SecretKey = field(repr=False)

    @classmethod
    def generate(cls) -> SharingKeys:
        return cls(umbral_pre.SecretKey.random(), umbral_pre.SecretKey.random())

    @property
    def public_key(self) -> bytes:
        return self.secret_key.public_key().to_compressed_bytes()

    @property
    def verifying_key(self) -> bytes:
        return self.signing_key.public_key().to_compressed_bytes()

    def save(self, path: Path) -> None:
        """Write the keys to a new file of mode 0600; an existing file is never replaced, as losing a secret key
        loses every record wrapped to it."""
        if os.path.lexists(path):
            raise SharingError(f"{path} exists: sharing keys are not overwritten")
        write_private(path, _FILE_MAGIC + self.secret_key.to_be_bytes() + self.signing_key.to_be_bytes())

    @classmethod
    def load(cls, path: Path) -> SharingKeys:
        """The keys save wrote; a file others can read is refused, as its keys may no longer be secret."""
        if path.stat().st_mode & 0o077:
            raise SharingError(f"{path} is accessible to other users: make it mode 0600")
        content = path.read_bytes()
        if len(content) != len(_FILE_MAGIC) + 2 * _SECRET_KEY_SIZE or not content.startswith(_FILE_MAGIC):
            raise SharingError(f"{path} is not a MedLedger sharing-keys file")
        secrets = content[len(_FILE_MAGIC) :]
        return cls(
            _parse(umbral_pre.SecretKey.from_be_bytes, secrets[:_SECRET_KEY_SIZE], "secret key"),
            _parse(umbral_pre.SecretKey.from_be_bytes, secrets[_SECRET_KEY_SIZE:], "signing key"),
        )


def wrap_data_key(owner_public_key: bytes, data_key: bytes) -> WrappedKey:
    """Encrypt a record's data key to its owner (the patient), who alone can open it or grant it to others."""
    capsule, ciphertext = umbral_pre.encrypt(_public_key(owner_public_key), data_key)
    return WrappedKey(bytes(capsule), ciphertext)


def unwrap_own(owner_secret_key: umbral_pre.SecretKey, wrapped: WrappedKey) -> bytes:
    """The owner opens a data key wrapped to its own public key."""
    capsule = _parse(umbral_pre.Capsule.from_bytes, wrapped.capsule, "capsule")
    try:
        return umbral_pre.decrypt_original(owner_secret_key, capsule, wrapped.ciphertext)
    except ValueError:
        raise SharingError("the wrapped key does not open with this secret key, or it was altered") from None


def grant(owner_keys: SharingKeys, receiver_public_key: bytes, threshold: int = 1, shares: int = 1) -> list[bytes]:
    """`shares` kfrags, one per proxy, letting proxies re-encrypt the owner's capsules for the receiver; `threshold`
    of the resulting cfrags open a data key. Each kfrag is signed with both public keys: it works for no one else."""
    if not 1 <= threshold <= shares:
        raise SharingError(f"a grant needs 1 <= threshold <= shares, not {threshold} of {shares}")
    kfrags = umbral_pre.generate_kfrags(
        delegating_sk=owner_keys.secret_key,
        receiving_pk=_public_key(receiver_public_key),
        signer=umbral_pre.Signer(owner_keys.signing_key),
        threshold=threshold,
        shares=shares,
        sign_delegating_key=True,
        sign_receiving_key=True,
    )
    return [bytes(kfrag) for kfrag in kfrags]


def reencrypt(capsule: bytes, kfrag: bytes, delegating_pk: bytes, receiving_pk: bytes, verifying_pk: bytes) -> bytes:
    """The proxy's step: re-encrypt a capsule for the receiver and return the cfrag, once the kfrag has verified as
    signed by verifying_pk for exactly this delegator and receiver."""
    parsed_capsule = _parse(umbral_pre.Capsule.from_bytes, capsule, "capsule")
    parsed_kfrag = _parse(umbral_pre.KeyFrag.from_bytes, kfrag, "key fragment")
    keys = _public_key(verifying_pk), _public_key(delegating_pk), _public_key(receiving_pk)
    try:
        verified = parsed_kfrag.verify(*keys)
    except _VerificationError:
        raise SharingError("the key fragment was not granted by this owner to this receiver") from None
    return bytes(umbral_pre.reencrypt(parsed_capsule, verified))


def unwrap_shared(
    receiver_secret_key: umbral_pre.SecretKey,
    delegating_pk: bytes,
    verifying_pk: bytes,
    wrapped: WrappedKey,
    cfrags: Sequence[bytes],
) -> bytes:
    """The receiver opens a data key wrapped to the owner (delegating_pk), from cfrags that each verify as made from
    this capsule with a kfrag the owner (verifying_pk) granted to this receiver."""
    capsule = _parse(umbral_pre.Capsule.from_bytes, wrapped.capsule, "capsule")
    delegating, verifying = _public_key(delegating_pk), _public_key(verifying_pk)
    receiving = receiver_secret_key.public_key()
    verified = []
    for cfrag in cfrags:
        parsed = _parse(umbral_pre.CapsuleFrag.from_bytes, cfrag, "capsule fragment")
        try:
            verified.append(parsed.verify(capsule, verifying, delegating, receiving))
        except _VerificationError:
            raise SharingError("a capsule fragment was not re-encrypted from this capsule for this receiver") from None
    try:
        data_key = umbral_pre.decrypt_reencrypted(
            receiver_secret_key, delegating, capsule, verified, wrapped.ciphertext
        )
    except ValueError:
        data_key = None
    if data_key is None:
        raise TooFewFragments(f"{len(verified)} capsule fragment(s) do not open the key: too few, or it was altered")
    return data_key


def _public_key(compressed: bytes) -> umbral_pre.PublicKey:
    return _parse(umbral_pre.PublicKey.from_compressed_bytes, compressed, "public key")


def _parse(parser: Callable[[bytes], _Parsed], data: bytes, what: str) -> _Parsed:
    try:
        return parser(data)
    except ValueError:
        raise SharingError(f"malformed {what}") from None
