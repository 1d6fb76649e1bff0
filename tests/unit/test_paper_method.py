"""The paper's client cryptography (bench/paper_method.py), the baseline Table 4 times ours against: it must do
what the paper's equations say, weakness included, or the comparison measures something else."""

from __future__ import annotations

import os
import sys

import pytest
from cryptography.exceptions import InvalidSignature

from medledger_tools.paths import REPO_ROOT

# bench/ is not a package: its modules import each other by name.
sys.path.insert(0, str(REPO_ROOT / "bench"))

import paper_method

PATIENT, RECEIVER = paper_method.new_key(), paper_method.new_key()


def test_a_file_is_rsa_encrypted_block_by_block_and_decrypts() -> None:
    record = os.urandom(1000)
    ciphertext = paper_method.rsa_encrypt(PATIENT.public_key(), record)
    assert len(ciphertext) == 5 * paper_method.CIPHER_BLOCK, "1000 bytes are five 245-byte blocks"
    assert paper_method.rsa_decrypt(PATIENT, ciphertext) == record
    with pytest.raises(ValueError, match="whole 256-byte blocks"):
        paper_method.rsa_decrypt(PATIENT, ciphertext[:-1])


def test_a_signature_verifies_only_over_the_same_digest_and_pid() -> None:
    digest = paper_method.digest(b"ciphertext")
    signature = paper_method.sign(PATIENT, digest, b"pid-1")
    paper_method.verify(PATIENT.public_key(), digest, b"pid-1", signature)
    with pytest.raises(InvalidSignature):
        paper_method.verify(PATIENT.public_key(), digest, b"pid-2", signature)


def test_sharing_gives_the_receiver_the_file_and_the_patients_private_key() -> None:
    record = os.urandom(3000)
    keys = paper_method.sharing_keys(PATIENT, RECEIVER.public_key())
    ciphertext = paper_method.aes_encrypt(keys.data_key, record)
    converted = paper_method.convert(RECEIVER, keys)
    assert paper_method.open_shared(RECEIVER, converted, ciphertext) == record
    learnt = paper_method.receiver_learns_patient_key(RECEIVER, keys)
    assert learnt.private_numbers() == PATIENT.private_numbers()
