"""A patient's record sealed and opened again (medledger_client.records): the parts come back as they
were, the digest addresses the ciphertext, and a wrong key or a lying record leaves no file behind."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from pathlib import Path

import pytest

from medledger_client.envelope import EnvelopeError, encrypt, new_data_key
from medledger_client.records import RecordError, open_record, seal_record
from medledger_client.sharing_keys import SharingKeys, unwrap_own


def parts(folder: Path, emr: bytes, shr: bytes) -> tuple[Path, Path]:
    (folder / "emr.pdf").write_bytes(emr)
    (folder / "shr.cbor").write_bytes(shr)
    return folder / "emr.pdf", folder / "shr.cbor"


@pytest.mark.parametrize(("emr_size", "shr_size"), [(100_000, 70_003), (0, 5), (5, 0), (0, 0)])
def test_a_sealed_record_opens_into_its_emr_and_shr_with_the_owners_key(
    tmp_path: Path, emr_size: int, shr_size: int
) -> None:
    owner = SharingKeys.generate()
    emr, shr = parts(tmp_path, os.urandom(emr_size), os.urandom(shr_size))
    sealed = seal_record(emr, shr, tmp_path / "record.enc", owner.public_key)
    ciphertext = (tmp_path / "record.enc").read_bytes()
    assert sealed.digest == hashlib.sha384(ciphertext).hexdigest()
    assert sealed.length == len(ciphertext)
    if emr_size:
        assert emr.read_bytes()[:64] not in ciphertext
    out = tmp_path / "out"
    out.mkdir()
    open_record(tmp_path / "record.enc", unwrap_own(owner.secret_key, sealed.wrapped_key), out / "e", out / "s")
    assert ((out / "e").read_bytes(), (out / "s").read_bytes()) == (emr.read_bytes(), shr.read_bytes())
    assert sorted(path.name for path in out.iterdir()) == ["e", "s"]
    assert (out / "e").stat().st_mode & 0o777 == 0o600


def test_a_wrong_key_opens_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    emr, shr = parts(tmp_path, b"emr", b"shr")
    seal_record(emr, shr, tmp_path / "record.enc", SharingKeys.generate().public_key)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EnvelopeError):
        open_record(tmp_path / "record.enc", new_data_key(), out / "e", out / "s")
    assert list(out.iterdir()) == []


def test_a_record_whose_emr_length_lies_opens_nothing(tmp_path: Path) -> None:
    key = new_data_key()
    with (tmp_path / "record.enc").open("wb") as out:
        encrypt(io.BytesIO(struct.pack(">Q", 1000) + b"ten bytes!"), out, key)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(RecordError, match="has 10 bytes, not the 1000 it declares"):
        open_record(tmp_path / "record.enc", key, folder / "e", folder / "s")
    with (tmp_path / "short.enc").open("wb") as out:
        encrypt(io.BytesIO(b"abc"), out, key)
    with pytest.raises(RecordError, match="shorter than its EMR's length"):
        open_record(tmp_path / "short.enc", key, folder / "e", folder / "s")
    assert list(folder.iterdir()) == []


def test_a_record_that_cannot_be_read_writes_no_ciphertext(tmp_path: Path) -> None:
    (tmp_path / "emr.pdf").write_bytes(b"emr")
    with pytest.raises(FileNotFoundError):
        seal_record(
            tmp_path / "emr.pdf", tmp_path / "absent", tmp_path / "record.enc", SharingKeys.generate().public_key
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["emr.pdf"]
