"""Streaming authenticated encryption of a record's plaintext (EMR ‖ SHR) under a fresh 32-byte data key.

The paper encrypts whole files with RSA; we encrypt them with AES-256-GCM under a random data key, which
sharing_keys then wraps for the patient. Records can be large, so the plaintext is cut into chunks sealed with the
STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, CRYPTO 2015): each chunk's nonce carries its position
and whether it is the last one, so truncating, reordering, duplicating or appending chunks fails authentication, and
memory stays at a few chunks whatever the size of the file.

Layout: a header, b"MLE1" ‖ version (1 byte) ‖ chunk size (uint32, big-endian) ‖ nonce prefix (7 random bytes), then
one AES-GCM ciphertext (chunk ‖ 16-byte tag) per chunk. Every chunk but the last holds exactly `chunk size` bytes of
plaintext; the last holds the rest (it is empty only when the whole plaintext is). Chunk i's nonce is
prefix ‖ uint32(i) ‖ (0x01 for the last chunk, else 0x00), and the header is every chunk's associated data, so it
cannot be altered either. The SHA-384 of the ciphertext, computed as it is written, content-addresses the record.

Decryption writes a chunk only once its tag has verified, but when a later chunk fails the earlier ones are already
written: callers write to a temporary file and move it into place only after success, which decrypt_file does.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .files import atomic_file

MAGIC = b"MLE1"
VERSION = 1
KEY_SIZE = 32
TAG_SIZE = 16
DEFAULT_CHUNK_SIZE = 64 * 1024
# The chunk size is read from a header that is not yet authenticated and sets how much decryption buffers: bound it.
MAX_CHUNK_SIZE = 16 * 1024 * 1024
_HEADER = struct.Struct(">4sBI7s")
HEADER_SIZE = _HEADER.size
_NONCE_PREFIX_SIZE = 7
_MAX_CHUNKS = 2**32


class EnvelopeError(ValueError):
    """A record that cannot be encrypted or decrypted: wrong key, altered, truncated or not an envelope at all."""


@dataclass(frozen=True)
class Ciphertext:
    """What encryption wrote: its SHA-384 (hex), which content-addresses the record, and its length in bytes."""

    sha384: str
    length: int


def new_data_key() -> bytes:
    """A fresh data key; each record gets its own, so a key never encrypts two plaintexts."""
    return AESGCM.generate_key(bit_length=KEY_SIZE * 8)


def encrypt(src: BinaryIO, dst: BinaryIO, key: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Ciphertext:
    """Encrypt everything src holds into dst, a chunk at a time, under a data key of the record's own (new_data_key)."""
    _check_key(key)
    _check_chunk_size(chunk_size)
    header = _HEADER.pack(MAGIC, VERSION, chunk_size, os.urandom(_NONCE_PREFIX_SIZE))
    aead = AESGCM(key)
    digest = hashlib.sha384()
    length = 0
    sealed_chunks = (
        aead.encrypt(_nonce(header, index, last), chunk, header) for index, chunk, last in _chunks(src, chunk_size)
    )
    for piece in itertools.chain([header], sealed_chunks):
        dst.write(piece)
        digest.update(piece)
        length += len(piece)
    return Ciphertext(digest.hexdigest(), length)


def decrypt(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Decrypt the envelope src holds into dst and return the plaintext's length.

    Raises EnvelopeError as soon as a chunk does not authenticate; chunks before it are already in dst (see
    decrypt_file), nothing of the failing one is.
    """
    _check_key(key)
    header = _read_up_to(src, HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        raise EnvelopeError("not a MedLedger envelope: shorter than its header")
    magic, version, chunk_size, _prefix = _HEADER.unpack(header)
    if magic != MAGIC:
        raise EnvelopeError("not a MedLedger envelope: wrong magic bytes")
    if version != VERSION:
        raise EnvelopeError(f"unsupported envelope version {version}")
    _check_chunk_size(chunk_size)
    aead = AESGCM(key)
    length = 0
    for index, sealed, last in _chunks(src, chunk_size + TAG_SIZE):
        try:
            chunk = aead.decrypt(_nonce(header, index, last), sealed, header)
        except InvalidTag:
            raise EnvelopeError(
                f"envelope chunk {index} does not authenticate: wrong key, or the record was altered or truncated"
            ) from None
        dst.write(chunk)
        length += len(chunk)
    return length


def decrypt_file(src_path: str | Path, dst_path: str | Path, key: bytes) -> int:
    """Decrypt a file into dst_path all or nothing, and return the plaintext's length.

    The plaintext goes to a temporary file of mode 0600 beside dst_path, which replaces dst_path only once every chunk
    has authenticated; on any failure the temporary file is removed and dst_path is left as it was.
    """
    with atomic_file(dst_path) as dst, open(src_path, "rb") as src:
        return decrypt(src, dst, key)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise EnvelopeError(f"a data key has {KEY_SIZE} bytes, not {len(key)}")


def _check_chunk_size(chunk_size: int) -> None:
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise EnvelopeError(f"chunk size {chunk_size} is not between 1 and {MAX_CHUNK_SIZE} bytes")


def _nonce(header: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_CHUNKS:
        raise EnvelopeError(f"a record has at most {_MAX_CHUNKS} chunks")
    return header[-_NONCE_PREFIX_SIZE:] + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _chunks(src: BinaryIO, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(index, block, is last) for consecutive blocks of `size` bytes; reading one block ahead is how the last one is
    known before it is sealed or opened. An empty stream is a single empty, last block."""
    current = _read_up_to(src, size)
    for index in itertools.count():
        following = _read_up_to(src, size)
        yield index, current, not following
        if not following:
            return
        current = following


def _read_up_to(src: BinaryIO, size: int) -> bytes:
    """`size` bytes, fewer only at the end of the stream: one read may return less (pipes, sockets, raw files)."""
    data = src.read(size)
    while 0 < len(data) < size:
        more = src.read(size - len(data))
        if not more:
            break
        data += more
    return data
