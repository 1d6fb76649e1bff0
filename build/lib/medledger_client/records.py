"""A patient's record as the paper stores it (M_EMR ‖ M_SHR, Algorithm 1), sealed for storage and opened
again, streaming: encrypted once under a fresh data key (envelope), that key wrapped to the patient's own
Umbral key (sharing_keys), the ciphertext addressed and indexed by its SHA-384.

The plaintext is the EMR's length (8 bytes, big-endian), the EMR, then the SHR, so that the two parts
come apart again without a delimiter that a record could contain.
"""

from __future__ import annotations

import io
import shutil
import struct
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .envelope import decrypt, encrypt, new_data_key
from .files import atomic_file
from .sharing_keys import WrappedKey, wrap_data_key

_EMR_LENGTH = struct.Struct(">Q")


class RecordError(ValueError):
    """A decrypted record whose parts do not add up."""


@dataclass(frozen=True)
class SealedRecord:
    digest: str  # dataMessageDigest: SHA-384 of the ciphertext, lowercase hex
    length: int
    wrapped_key: WrappedKey


class _Joined(io.RawIOBase):
    """The readers one after the other, as one reader."""

    def __init__(self, *parts: BinaryIO) -> None:
        self.parts = list(parts)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self.parts:
            data = self.parts[0].read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self.parts.pop(0)
        return 0


def seal_record(emr: Path, shr: Path, ciphertext: Path, owner_public_key: bytes) -> SealedRecord:
    """Encrypt EMR ‖ SHR into `ciphertext` (all or nothing) under a new data key, wrapped to the owner."""
    data_key = new_data_key()
    with ExitStack() as files:
        parts = [files.enter_context(path.open("rb")) for path in (emr, shr)]
        length = io.BytesIO(_EMR_LENGTH.pack(emr.stat().st_size))
        source = io.BufferedReader(_Joined(length, *parts))
        out = files.enter_context(atomic_file(ciphertext))
        sealed = encrypt(source, out, data_key)
    return SealedRecord(sealed.sha384, sealed.length, wrap_data_key(owner_public_key, data_key))


def open_record(ciphertext: Path, data_key: bytes, emr: Path, shr: Path) -> None:
    """Decrypt a sealed record into its EMR and SHR files, both or neither (EnvelopeError when the
    ciphertext does not authenticate, RecordError when its parts do not add up)."""
    # Unnamed, 0600, gone when closed: the plaintext is split only once every chunk has authenticated.
    with tempfile.TemporaryFile(dir=emr.parent) as plaintext:
        with ciphertext.open("rb") as source:
            decrypt(source, plaintext, data_key)
        plaintext.seek(0)
        header = plaintext.read(_EMR_LENGTH.size)
        if len(header) != _EMR_LENGTH.size:
            raise RecordError("the record is shorter than its EMR's length")
        (emr_length,) = _EMR_LENGTH.unpack(header)
        with atomic_file(emr) as emr_out, atomic_file(shr) as shr_out:
            copied = _copy(plaintext, emr_out, emr_length)
            if copied != emr_length:
                raise RecordError(f"the record's EMR has {copied} bytes, not the {emr_length} it declares")
            shutil.copyfileobj(plaintext, shr_out)


def _copy(source: BinaryIO, target: BinaryIO, length: int) -> int:
    copied = 0
    while copied < length:
        data = source.read(min(1 << 16, length - copied))
        if not data:
            break
        target.write(data)
        copied += len(data)
    return copied
