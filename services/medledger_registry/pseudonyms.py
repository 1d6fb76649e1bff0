"""Pseudonyms as the paper makes them (§2.2, phase ①): PID = SHA-384 over the user's real identity (RID)
encrypted under the user's public key, and what the registry keeps so that RID and PID meet nowhere else.

Our keys are elliptic-curve, so "encrypted under the user's public key" is a sealed box (HPKE, sealed_box):
randomised, so the PID says nothing about the RID, and the user, who holds the key, can open the sealed RID
to prove which RID a PID stands for. The PID is the SHA-384 truncated to 240 bits, in hex behind `pid-`: it is
the enrolment ID, and Fabric CA writes that into the certificate's common name, which X.509 bounds to 64
characters (the ledger's schema too); 240 bits keep collisions beyond reach (2^120 work).

The registry's database holds the RID only encrypted (AES-256-GCM under the registry's key, bound to the PID
as associated data, so a row cannot be moved to another PID), and finds it again only through a keyed hash
(HMAC-SHA-384 under a second key): the same person cannot register twice, and a copy of the database without
the keys tells nobody who is registered.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medledger_client.sealed_box import seal

RID_CONTEXT = b"medledger/rid/v1"
PID_PREFIX = "pid-"
PID_HEX_DIGITS = 60
KEY_BYTES = 32
_NONCE_BYTES = 12
_MAX_RID_CHARACTERS = 256


class PseudonymError(ValueError):
    """A RID the registry refuses, or a stored RID that does not open; one line, never the RID itself."""


@dataclass(frozen=True)
class Pseudonym:
    pid: str
    sealed_rid: bytes  # for the user: opens with their key, and hashes to the PID


@dataclass(frozen=True)
class RegistryKeys:
    """The registry's two secrets, each 32 bytes: one encrypts RIDs at rest, one keys their lookup hash."""

    rid_encryption: bytes
    rid_lookup: bytes

    def __post_init__(self) -> None:
        if len(self.rid_encryption) != KEY_BYTES or len(self.rid_lookup) != KEY_BYTES:
            raise PseudonymError("the registry's keys must be 32 bytes each")
        if hmac.compare_digest(self.rid_encryption, self.rid_lookup):
            raise PseudonymError("the registry's two keys must differ")

    @classmethod
    def from_files(cls, encryption: Path, lookup: Path) -> RegistryKeys:
        """Each key as 64 hex digits in a file only its owner reads."""
        return cls(_key_file(encryption), _key_file(lookup))


def _key_file(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise PseudonymError(f"{path} is accessible to other users: make it mode 0600")
    try:
        return bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise PseudonymError(f"{path}: want a key of 64 hex digits") from None


def normalised_rid(rid: str) -> str:
    """One spelling per RID (Unicode NFKC, no surrounding space, case kept): two spellings of one person's
    identity must give one lookup hash."""
    text = unicodedata.normalize("NFKC", rid).strip()
    if not text or len(text) > _MAX_RID_CHARACTERS or not text.isprintable():
        raise PseudonymError(f"a RID is 1 to {_MAX_RID_CHARACTERS} printable characters")
    return text


def make_pseudonym(rid: str, user_public_key: ec.EllipticCurvePublicKey) -> Pseudonym:
    sealed = seal(user_public_key, normalised_rid(rid).encode(), RID_CONTEXT)
    return Pseudonym(pid_of(sealed), sealed)


def pid_of(sealed_rid: bytes) -> str:
    return PID_PREFIX + hashlib.sha384(sealed_rid).hexdigest()[:PID_HEX_DIGITS]


def lookup_hash(keys: RegistryKeys, rid: str) -> bytes:
    return hmac.new(keys.rid_lookup, normalised_rid(rid).encode(), hashlib.sha384).digest()


def encrypt_rid(keys: RegistryKeys, rid: str, pid: str) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(keys.rid_encryption).encrypt(nonce, normalised_rid(rid).encode(), pid.encode())


def decrypt_rid(keys: RegistryKeys, stored: bytes, pid: str) -> str:
    try:
        plain = AESGCM(keys.rid_encryption).decrypt(stored[:_NONCE_BYTES], stored[_NONCE_BYTES:], pid.encode())
    except (InvalidTag, ValueError):
        raise PseudonymError(f"the stored RID of {pid} does not open: another key, another PID, or altered") from None
    return plain.decode()
