"""The paper's client cryptography as its equations write it: the baseline of Table 4, and nowhere but bench/.

- Records: En_PK_P(RSA)(M_EMR ‖ M_SHR) -> C, RSA over the whole file. RSA-2048 with PKCS#1 v1.5 padding, as
  Java's Cipher "RSA" (RSA/ECB/PKCS1Padding) does it: the file in blocks of 245 bytes, each its own RSA
  encryption of 256 bytes. Its Table 4 fits that: decryption, one private-key operation per block, costs
  five times encryption.
- Signatures: SHA384withRSA over the ciphertext's SHA-384 digest and the signer's PID.
- Sharing: a fresh AES key DSK encrypts the file (AES-128; the paper names no mode: CBC here); DSK is
  RSA-encrypted to the patient (DSK*), and the "re-encryption key" is RK = En_PK_TH(RSA)(SK_P), the patient's
  whole private key encrypted to the receiver. Converting DSK* for the receiver therefore takes SK_P out of
  RK, which only the receiver can open: the receiver holds the patient's secret key from then on (the
  weakness MedLedger replaces with Umbral; `receiver_learns_patient_key` shows it). We time the conversion
  as whoever can do it must: RK opened, DSK* opened with SK_P, DSK encrypted to the receiver.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BITS = 2048
# PKCS#1 v1.5 needs 11 bytes of padding in each 256-byte block.
PLAIN_BLOCK = KEY_BITS // 8 - 11
CIPHER_BLOCK = KEY_BITS // 8
AES_KEY_BYTES = 16
AES_BLOCK_BITS = 128


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def rsa_encrypt(public_key: rsa.RSAPublicKey, message: bytes) -> bytes:
    """t_er: every 245-byte block of the message RSA-encrypted on its own."""
    return b"".join(
        public_key.encrypt(message[start : start + PLAIN_BLOCK], rsa_padding.PKCS1v15())
        for start in range(0, len(message), PLAIN_BLOCK)
    )


def rsa_decrypt(private_key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    """t_dr: one private-key operation per 256-byte block."""
    if len(ciphertext) % CIPHER_BLOCK:
        raise ValueError(f"an RSA ciphertext is whole {CIPHER_BLOCK}-byte blocks, not {len(ciphertext)} bytes")
    return b"".join(
        private_key.decrypt(ciphertext[start : start + CIPHER_BLOCK], rsa_padding.PKCS1v15())
        for start in range(0, len(ciphertext), CIPHER_BLOCK)
    )


def digest(ciphertext: bytes) -> bytes:
    """t_md: H_SHA384(C)."""
    return hashlib.sha384(ciphertext).digest()


def sign(private_key: rsa.RSAPrivateKey, message_digest: bytes, pid: bytes) -> bytes:
    """t_sig: En_SK(RSA)(MD ‖ PID), a SHA384withRSA signature."""
    return private_key.sign(message_digest + pid, rsa_padding.PKCS1v15(), hashes.SHA384())


def verify(public_key: rsa.RSAPublicKey, message_digest: bytes, pid: bytes, signature: bytes) -> None:
    """t_vs: raises cryptography's InvalidSignature when the signature is not the signer's over these bytes."""
    public_key.verify(signature, message_digest + pid, rsa_padding.PKCS1v15(), hashes.SHA384())


@dataclass(frozen=True)
class SharingKeys:
    """What the patient hands the cloud server to share a record: DSK* and RK."""

    data_key: bytes
    wrapped_data_key: bytes
    conversion_key: bytes


def private_key_bytes(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def sharing_keys(patient: rsa.RSAPrivateKey, receiver: rsa.RSAPublicKey) -> SharingKeys:
    """t_kg: a new DSK, DSK* = En_PK_P(DSK) and RK = En_PK_TH(SK_P)."""
    data_key = os.urandom(AES_KEY_BYTES)
    return SharingKeys(
        data_key,
        rsa_encrypt(patient.public_key(), data_key),
        rsa_encrypt(receiver, private_key_bytes(patient)),
    )


def aes_encrypt(data_key: bytes, message: bytes) -> bytes:
    """t_ea: the file under DSK (AES-128-CBC, PKCS#7), the IV first."""
    iv = os.urandom(AES_BLOCK_BITS // 8)
    padder = padding.PKCS7(AES_BLOCK_BITS).padder()
    encryptor = Cipher(algorithms.AES(data_key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padder.update(message) + padder.finalize()) + encryptor.finalize()


def aes_decrypt(data_key: bytes, ciphertext: bytes) -> bytes:
    iv, body = ciphertext[: AES_BLOCK_BITS // 8], ciphertext[AES_BLOCK_BITS // 8 :]
    decryptor = Cipher(algorithms.AES(data_key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(AES_BLOCK_BITS).unpadder()
    return unpadder.update(decryptor.update(body) + decryptor.finalize()) + unpadder.finalize()


def receiver_learns_patient_key(receiver: rsa.RSAPrivateKey, keys: SharingKeys) -> rsa.RSAPrivateKey:
    """What RK gives whoever can open it: the patient's private key, good for every record the patient has."""
    loaded = serialization.load_der_private_key(rsa_decrypt(receiver, keys.conversion_key), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TypeError("RK did not hold an RSA private key")
    return loaded


def convert(receiver: rsa.RSAPrivateKey, keys: SharingKeys) -> bytes:
    """t_pkrg: DSK* converted into DSK^TH* = En_PK_TH(DSK), which needs SK_P out of RK."""
    patient = receiver_learns_patient_key(receiver, keys)
    return rsa_encrypt(receiver.public_key(), rsa_decrypt(patient, keys.wrapped_data_key))


def open_shared(receiver: rsa.RSAPrivateKey, converted_key: bytes, ciphertext: bytes) -> bytes:
    """t_da: DSK out of DSK^TH*, then the file out of its AES ciphertext."""
    return aes_decrypt(rsa_decrypt(receiver, converted_key), ciphertext)
