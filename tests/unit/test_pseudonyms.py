"""Pseudonyms (medledger_registry.pseudonyms): a PID says nothing of its RID, the user can prove which RID it
stands for, and the registry's stored RID is useless without its keys."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api import entities
from medledger_client.sealed_box import open_sealed
from medledger_registry.pseudonyms import (
    RID_CONTEXT,
    PseudonymError,
    RegistryKeys,
    decrypt_rid,
    encrypt_rid,
    lookup_hash,
    make_pseudonym,
    pid_of,
)

RID = "510102199001011234"  # the form of a Chinese resident identity card number


def keys() -> RegistryKeys:
    return RegistryKeys(os.urandom(32), os.urandom(32))


def test_a_pid_fits_an_enrolment_id_and_the_ledgers_pseudonym_pattern() -> None:
    pid = make_pseudonym(RID, ec.generate_private_key(ec.SECP256R1()).public_key()).pid
    assert re.fullmatch(r"pid-[0-9a-f]{60}", pid)
    entities.check("PatientDataEntity", {**valid_record(), "patientPseudonymId": pid})


def valid_record() -> dict[str, object]:
    return {
        "dataMessageDigest": "0" * 96,
        "dataSaveUrl": "https://storage.example/objects/x",
        "dataSignatureDoctor": "ab" * 8,
        "dataSignaturePatient": "cd" * 8,
        "doctorPseudonymId": "pid-d0c",
        "patientPseudonymId": "pid-1f3a",
        "timestamp": 1,
        "treatmentId": "T-1",
    }


def test_the_same_rid_gives_unrelated_pids_and_only_the_user_opens_the_sealed_rid() -> None:
    user = ec.generate_private_key(ec.SECP256R1())
    first, second = (make_pseudonym(RID, user.public_key()) for _ in range(2))
    assert first.pid != second.pid
    assert pid_of(first.sealed_rid) == first.pid
    assert open_sealed(user, first.sealed_rid, RID_CONTEXT).decode() == RID
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(ec.generate_private_key(ec.SECP256R1()), first.sealed_rid, RID_CONTEXT)


def test_one_person_has_one_lookup_hash_whatever_the_spelling_and_only_under_the_registrys_key() -> None:
    registry = keys()
    assert (
        lookup_hash(registry, RID)
        == lookup_hash(registry, f"  {RID}\u00a0")
        == lookup_hash(registry, "\uff15\uff11\uff10" + RID[3:])  # full-width digits
    )
    assert lookup_hash(registry, RID) != lookup_hash(registry, RID[:-1] + "5")
    assert lookup_hash(registry, RID) != lookup_hash(keys(), RID)


def test_a_stored_rid_opens_only_with_the_registrys_key_and_for_its_own_pid() -> None:
    registry = keys()
    stored = encrypt_rid(registry, RID, "pid-aaaa")
    assert RID.encode() not in stored
    assert decrypt_rid(registry, stored, "pid-aaaa") == RID
    with pytest.raises(PseudonymError, match="does not open"):
        decrypt_rid(registry, stored, "pid-bbbb")  # a row moved to another pseudonym
    with pytest.raises(PseudonymError, match="does not open"):
        decrypt_rid(keys(), stored, "pid-aaaa")
    with pytest.raises(PseudonymError, match="does not open"):
        decrypt_rid(registry, stored[:-1] + bytes([stored[-1] ^ 1]), "pid-aaaa")


@pytest.mark.parametrize("rid", ["", "   ", "a" * 257, "line\nbreak"])
def test_an_unusable_rid_is_refused_without_echoing_it(rid: str) -> None:
    with pytest.raises(PseudonymError) as refused:
        lookup_hash(keys(), rid)
    assert rid.strip() == "" or rid not in str(refused.value)


def test_the_registry_refuses_short_or_equal_keys() -> None:
    with pytest.raises(PseudonymError, match="32 bytes"):
        RegistryKeys(b"short", os.urandom(32))
    same = os.urandom(32)
    with pytest.raises(PseudonymError, match="must differ"):
        RegistryKeys(same, same)


def test_the_registry_reads_each_key_from_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    encryption, lookup = tmp_path / "rid-encryption.key", tmp_path / "rid-lookup.key"
    for path, digits in ((encryption, "ab"), (lookup, "cd")):
        path.write_text(digits * 32 + "\n")
        path.chmod(0o600)
    assert RegistryKeys.from_files(encryption, lookup) == RegistryKeys(bytes([0xAB]) * 32, bytes([0xCD]) * 32)
    lookup.chmod(0o644)
    with pytest.raises(PseudonymError, match="accessible to other users"):
        RegistryKeys.from_files(encryption, lookup)
    lookup.chmod(0o600)
    lookup.write_text("not hex")
    with pytest.raises(PseudonymError, match="64 hex digits"):
        RegistryKeys.from_files(encryption, lookup)
