"""The data client's cryptography: chunked record envelopes, Umbral sharing of data keys, and sealed TSKs."""

from __future__ import annotations

import hashlib
import io
import math
import os
import stat
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_client import envelope, sealed_box, sharing_keys
from medledger_client.envelope import DEFAULT_CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, EnvelopeError
from medledger_client.sealed_box import TSK_CONTEXT, SealedBoxError
from medledger_client.sharing_keys import SharingError, SharingKeys

from .certificates import issue

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

SMALL_CHUNK = 16  # small chunks make records of many chunks cheap to build and to take apart
MiB = 1024 * 1024

Result = TypeVar("Result")


def encrypted(plaintext: bytes, key: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    written = io.BytesIO()
    envelope.encrypt(io.BytesIO(plaintext), written, key, chunk_size)
    return written.getvalue()


def decrypted(ciphertext: bytes, key: bytes) -> bytes:
    written = io.BytesIO()
    envelope.decrypt(io.BytesIO(ciphertext), written, key)
    return written.getvalue()


def split(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    """The header and the sealed chunks of a SMALL_CHUNK envelope."""
    step = SMALL_CHUNK + TAG_SIZE
    return ciphertext[:HEADER_SIZE], [ciphertext[at : at + step] for at in range(HEADER_SIZE, len(ciphertext), step)]


def flipped(data: bytes, position: int) -> bytes:
    altered = bytearray(data)
    altered[position] ^= 0x01
    return bytes(altered)


class GeneratedStream(io.RawIOBase):
    """A readable stream whose bytes a generator makes on demand, as a pipe or a socket delivers them."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if not self._pending:
            self._pending = next(self._blocks, b"")
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def generated(size: int, block: int = 8191) -> Iterator[bytes]:
    for offset in range(0, size, block):
        yield bytes([offset % 251]) * min(block, size - offset)


def generated_stream(size: int, block: int = 8191) -> BinaryIO:
    return cast(BinaryIO, GeneratedStream(generated(size, block)))


def traced(work: Callable[[], Result]) -> tuple[Result, int]:
    """What work returns, and the peak of the memory Python allocated meanwhile."""
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "size", [0, 1, DEFAULT_CHUNK_SIZE - 1, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE + 1, MiB + 3], ids=str
)
def test_records_of_any_size_round_trip_in_as_many_chunks_as_they_fill(size: int) -> None:
    key, plaintext = envelope.new_data_key(), os.urandom(size)
    ciphertext = encrypted(plaintext, key)
    chunks = max(1, math.ceil(size / DEFAULT_CHUNK_SIZE))
    assert len(ciphertext) == HEADER_SIZE + size + chunks * TAG_SIZE
    assert decrypted(ciphertext, key) == plaintext


def test_encryption_returns_the_sha384_and_length_of_the_bytes_it_wrote() -> None:
    written = io.BytesIO()
    result = envelope.encrypt(
        io.BytesIO(os.urandom(3 * SMALL_CHUNK + 5)), written, envelope.new_data_key(), SMALL_CHUNK
    )
    assert result == envelope.Ciphertext(hashlib.sha384(written.getvalue()).hexdigest(), len(written.getvalue()))


def test_the_header_names_the_format_and_chunk_size_and_a_fresh_nonce_prefix_each_time() -> None:
    key, plaintext = envelope.new_data_key(), b"same record"
    first, second = encrypted(plaintext, key, SMALL_CHUNK), encrypted(plaintext, key, SMALL_CHUNK)
    assert first[:9] == second[:9] == b"MLE1\x01" + SMALL_CHUNK.to_bytes(4, "big")
    assert first[9:HEADER_SIZE] != second[9:HEADER_SIZE]


def test_altering_any_byte_of_the_header_is_detected() -> None:
    key = envelope.new_data_key()
    # One short chunk: a larger chunk size in the header still reads it whole, so only the header being every chunk's
    # associated data catches that change.
    ciphertext = encrypted(os.urandom(SMALL_CHUNK - 3), key, SMALL_CHUNK)
    for position in range(HEADER_SIZE):
        with pytest.raises(EnvelopeError):
            decrypted(flipped(ciphertext, position), key)


@pytest.mark.parametrize(
    "position",
    [
        HEADER_SIZE + 2 * (SMALL_CHUNK + TAG_SIZE) + 3,  # in the ciphertext of a middle chunk
        HEADER_SIZE + 3 * (SMALL_CHUNK + TAG_SIZE) - 1,  # in the tag of a middle chunk
        -1,  # in the tag of the last chunk
    ],
    ids=["middle chunk", "middle tag", "last tag"],
)
def test_altering_one_byte_of_a_chunk_or_its_tag_is_detected(position: int) -> None:
    key = envelope.new_data_key()
    ciphertext = encrypted(os.urandom(5 * SMALL_CHUNK + 7), key, SMALL_CHUNK)
    with pytest.raises(EnvelopeError, match="does not authenticate"):
        decrypted(flipped(ciphertext, position), key)


ATTACKS: dict[str, Callable[[bytes, list[bytes]], bytes]] = {
    "last chunk dropped": lambda header, chunks: header + b"".join(chunks[:-1]),
    "last chunk cut short": lambda header, chunks: header + b"".join(chunks)[:-1],
    "every chunk dropped": lambda header, _chunks: header,
    "middle chunk dropped": lambda header, chunks: header + b"".join(chunks[:2] + chunks[3:]),
    "two chunks swapped": lambda header, chunks: header + b"".join([chunks[1], chunks[0], *chunks[2:]]),
    "a chunk duplicated": lambda header, chunks: header + b"".join(chunks[:3] + chunks[2:]),
    "a chunk appended": lambda header, chunks: header + b"".join([*chunks, chunks[0]]),
    "the last chunk appended again": lambda header, chunks: header + b"".join([*chunks, chunks[-1]]),
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_truncated_reordered_duplicated_or_extended_records_are_detected(
    attack: Callable[[bytes, list[bytes]], bytes],
) -> None:
    key = envelope.new_data_key()
    header, chunks = split(encrypted(os.urandom(5 * SMALL_CHUNK), key, SMALL_CHUNK))
    assert len(chunks) == 5
    with pytest.raises(EnvelopeError):
        decrypted(attack(header, chunks), key)


def test_another_key_is_detected() -> None:
    ciphertext = encrypted(b"EMR and SHR", envelope.new_data_key())
    with pytest.raises(EnvelopeError, match="wrong key"):
        decrypted(ciphertext, envelope.new_data_key())


def test_decryption_writes_the_chunks_before_a_failing_one_and_nothing_of_it() -> None:
    key, plaintext = envelope.new_data_key(), os.urandom(5 * SMALL_CHUNK)
    ciphertext = flipped(encrypted(plaintext, key, SMALL_CHUNK), HEADER_SIZE + 2 * (SMALL_CHUNK + TAG_SIZE) + 3)
    written = io.BytesIO()
    with pytest.raises(EnvelopeError, match="chunk 2 "):
        envelope.decrypt(io.BytesIO(ciphertext), written, key)
    assert written.getvalue() == plaintext[: 2 * SMALL_CHUNK]


def test_decrypt_file_leaves_no_file_behind_when_the_record_does_not_authenticate(tmp_path: Path) -> None:
    key = envelope.new_data_key()
    source = tmp_path / "record.mle"
    source.write_bytes(flipped(encrypted(os.urandom(5 * SMALL_CHUNK), key, SMALL_CHUNK), -1))
    with pytest.raises(EnvelopeError):
        envelope.decrypt_file(source, tmp_path / "record.txt", key)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["record.mle"]


def test_decrypt_file_replaces_the_destination_with_a_file_of_mode_0600(tmp_path: Path) -> None:
    key, plaintext = envelope.new_data_key(), os.urandom(5 * SMALL_CHUNK + 1)
    source, destination = tmp_path / "record.mle", tmp_path / "record.txt"
    source.write_bytes(encrypted(plaintext, key, SMALL_CHUNK))
    destination.write_bytes(b"an older copy")
    destination.chmod(0o644)

    assert envelope.decrypt_file(source, destination, key) == len(plaintext)

    assert destination.read_bytes() == plaintext
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["record.mle", "record.txt"]


def test_a_source_that_returns_short_reads_still_gives_full_chunks() -> None:
    key, size = envelope.new_data_key(), 3 * DEFAULT_CHUNK_SIZE + 5
    written = io.BytesIO()
    envelope.encrypt(generated_stream(size, block=1000), written, key)
    assert len(written.getvalue()) == HEADER_SIZE + size + 4 * TAG_SIZE
    assert decrypted(written.getvalue(), key) == b"".join(generated(size, block=1000))


def test_memory_stays_flat_however_large_the_record(tmp_path: Path) -> None:
    key, size, ciphertext = envelope.new_data_key(), 32 * MiB, tmp_path / "record.mle"

    def encrypt() -> envelope.Ciphertext:
        with ciphertext.open("wb") as sink:
            return envelope.encrypt(generated_stream(size), sink, key)

    def decrypt() -> int:
        with ciphertext.open("rb") as source, open(os.devnull, "wb") as sink:
            return envelope.decrypt(source, sink, key)

    written, encryption_peak = traced(encrypt)
    length, decryption_peak = traced(decrypt)
    assert written.length == ciphertext.stat().st_size > size
    assert length == size
    assert encryption_peak < 4 * MiB
    assert decryption_peak < 4 * MiB


def test_the_owner_unwraps_a_data_key_wrapped_to_its_public_key() -> None:
    owner, data_key = SharingKeys.generate(), envelope.new_data_key()
    wrapped = sharing_keys.wrap_data_key(owner.public_key, data_key)
    assert data_key not in wrapped.ciphertext
    assert sharing_keys.unwrap_own(owner.secret_key, wrapped) == data_key
    with pytest.raises(SharingError):
        sharing_keys.unwrap_own(SharingKeys.generate().secret_key, wrapped)


def test_a_receiver_unwraps_the_data_key_through_a_proxys_capsule_fragment() -> None:
    owner, doctor, data_key = SharingKeys.generate(), SharingKeys.generate(), envelope.new_data_key()
    wrapped = sharing_keys.wrap_data_key(owner.public_key, data_key)
    [kfrag] = sharing_keys.grant(owner, doctor.public_key)

    cfrag = sharing_keys.reencrypt(wrapped.capsule, kfrag, owner.public_key, doctor.public_key, owner.verifying_key)

    shared = sharing_keys.unwrap_shared(doctor.secret_key, owner.public_key, owner.verifying_key, wrapped, [cfrag])
    assert shared == data_key


def test_a_key_other_than_the_receivers_cannot_use_its_capsule_fragment() -> None:
    owner, doctor, other = SharingKeys.generate(), SharingKeys.generate(), SharingKeys.generate()
    wrapped = sharing_keys.wrap_data_key(owner.public_key, envelope.new_data_key())
    [kfrag] = sharing_keys.grant(owner, doctor.public_key)
    cfrag = sharing_keys.reencrypt(wrapped.capsule, kfrag, owner.public_key, doctor.public_key, owner.verifying_key)
    with pytest.raises(SharingError, match="not re-encrypted from this capsule for this receiver"):
        sharing_keys.unwrap_shared(other.secret_key, owner.public_key, owner.verifying_key, wrapped, [cfrag])


def test_a_capsule_fragment_of_another_record_does_not_open_this_one() -> None:
    owner, doctor = SharingKeys.generate(), SharingKeys.generate()
    this, another = (sharing_keys.wrap_data_key(owner.public_key, envelope.new_data_key()) for _ in range(2))
    [kfrag] = sharing_keys.grant(owner, doctor.public_key)
    cfrag = sharing_keys.reencrypt(another.capsule, kfrag, owner.public_key, doctor.public_key, owner.verifying_key)
    with pytest.raises(SharingError, match="not re-encrypted from this capsule for this receiver"):
        sharing_keys.unwrap_shared(doctor.secret_key, owner.public_key, owner.verifying_key, this, [cfrag])


def test_the_proxy_refuses_a_key_fragment_granted_to_another_receiver_or_by_another_owner() -> None:
    owner, doctor, other = SharingKeys.generate(), SharingKeys.generate(), SharingKeys.generate()
    wrapped = sharing_keys.wrap_data_key(owner.public_key, envelope.new_data_key())
    [kfrag] = sharing_keys.grant(owner, doctor.public_key)
    with pytest.raises(SharingError, match="not granted"):
        sharing_keys.reencrypt(wrapped.capsule, kfrag, owner.public_key, other.public_key, owner.verifying_key)
    with pytest.raises(SharingError, match="not granted"):
        sharing_keys.reencrypt(wrapped.capsule, kfrag, owner.public_key, doctor.public_key, other.verifying_key)


def test_a_two_of_three_grant_opens_with_any_two_capsule_fragments_and_not_with_one() -> None:
    owner, doctor, data_key = SharingKeys.generate(), SharingKeys.generate(), envelope.new_data_key()
    wrapped = sharing_keys.wrap_data_key(owner.public_key, data_key)
    kfrags = sharing_keys.grant(owner, doctor.public_key, threshold=2, shares=3)
    cfrags = [
        sharing_keys.reencrypt(wrapped.capsule, kfrag, owner.public_key, doctor.public_key, owner.verifying_key)
        for kfrag in kfrags
    ]

    def unwrap(chosen: list[bytes]) -> bytes:
        return sharing_keys.unwrap_shared(doctor.secret_key, owner.public_key, owner.verifying_key, wrapped, chosen)

    assert len(cfrags) == 3
    assert unwrap(cfrags[:2]) == unwrap(cfrags[1:]) == unwrap([cfrags[0], cfrags[2]]) == data_key
    with pytest.raises(SharingError, match="too few"):
        unwrap(cfrags[:1])


def test_a_grant_whose_threshold_exceeds_its_shares_is_refused() -> None:
    with pytest.raises(SharingError, match="threshold"):
        sharing_keys.grant(SharingKeys.generate(), SharingKeys.generate().public_key, threshold=3, shares=2)


def test_sharing_keys_are_saved_with_mode_0600_and_load_back_the_same(tmp_path: Path) -> None:
    keys, path = SharingKeys.generate(), tmp_path / "sharing.keys"
    keys.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    loaded = SharingKeys.load(path)

    assert (loaded.public_key, loaded.verifying_key) == (keys.public_key, keys.verifying_key)
    data_key = envelope.new_data_key()
    assert sharing_keys.unwrap_own(loaded.secret_key, sharing_keys.wrap_data_key(keys.public_key, data_key)) == data_key


def test_sharing_keys_never_overwrite_a_file_nor_load_from_one_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "sharing.keys"
    SharingKeys.generate().save(path)
    saved = path.read_bytes()
    with pytest.raises(SharingError, match="exists"):
        SharingKeys.generate().save(path)
    assert path.read_bytes() == saved
    path.chmod(0o640)
    with pytest.raises(SharingError, match="other users"):
        SharingKeys.load(path)


def doctors_certificate_key() -> tuple[ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey]:
    doctor = issue("doc-0001")
    public_key = doctor.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    return public_key, doctor.key


TSK = b"pat-0001|T-0001|influenza|-----BEGIN CERTIFICATE-----"


def test_a_tsk_sealed_to_a_doctors_certificate_opens_with_the_doctors_key() -> None:
    public_key, private_key = doctors_certificate_key()
    sealed = sealed_box.seal(public_key, TSK, TSK_CONTEXT)
    assert TSK not in sealed
    assert sealed_box.open_sealed(private_key, sealed, TSK_CONTEXT) == TSK


def test_a_sealed_tsk_does_not_open_for_another_doctor_or_in_another_context() -> None:
    public_key, private_key = doctors_certificate_key()
    sealed = sealed_box.seal(public_key, TSK, TSK_CONTEXT)
    with pytest.raises(SealedBoxError):
        sealed_box.open_sealed(issue("doc-0002").key, sealed, TSK_CONTEXT)
    with pytest.raises(SealedBoxError):
        sealed_box.open_sealed(private_key, sealed, b"medledger/other/v1")


@pytest.mark.parametrize("position", [0, 1, 64, 70, -1], ids=lambda at: f"byte {at}")
def test_an_altered_sealed_tsk_does_not_open(position: int) -> None:
    public_key, private_key = doctors_certificate_key()
    sealed = sealed_box.seal(public_key, TSK, TSK_CONTEXT)
    with pytest.raises(SealedBoxError):
        sealed_box.open_sealed(private_key, flipped(sealed, position), TSK_CONTEXT)


def test_sealing_needs_a_p256_key_and_a_context() -> None:
    public_key, _private_key = doctors_certificate_key()
    with pytest.raises(SealedBoxError, match="P-256"):
        sealed_box.seal(ec.generate_private_key(ec.SECP384R1()).public_key(), TSK, TSK_CONTEXT)
    with pytest.raises(SealedBoxError, match="context"):
        sealed_box.seal(public_key, TSK, b"")
