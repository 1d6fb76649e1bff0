"""Seal and open backup files with a passphrase, for playbooks/backup.yml and restore.yml.

  medledger-backup seal PASSPHRASE_FILE PLAIN SEALED     encrypt PLAIN into SEALED
  medledger-backup open PASSPHRASE_FILE SEALED PLAIN     decrypt SEALED into PLAIN, or fail and write nothing
  medledger-backup finish PASSPHRASE_FILE FOLDER ROOT...  seal FOLDER's manifest: the network (the offline
      roots' fingerprint), the time, every sealed item with its SHA-256; a folder with a manifest is complete
  medledger-backup check PASSPHRASE_FILE FOLDER ROOT...   print the manifest (JSON) if the folder is a complete
      backup of the network whose roots are given, every item intact; else fail naming what is wrong

A backup holds what lets anyone act as the network (the CAs' keys, the vault password that opens the
offline roots), so every file is sealed on the control node before it is kept: AES-256-GCM under a key
derived from the operator's passphrase with scrypt (a salt per file), in 1 MiB chunks (ledgers do not fit in
memory). Each chunk's nonce carries its index and whether it is the last (the STREAM construction), and every
chunk authenticates the header: a flipped, dropped, reordered or truncated chunk, or a header from another
file, fails to open. The passphrase file must be readable by its owner only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import io
import json
import os
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"MEDLEDGER-BACKUP-1\n"
SALT_BYTES = 16
NONCE_PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC) + SALT_BYTES + NONCE_PREFIX_BYTES
CHUNK_BYTES = 1 << 20
TAG_BYTES = 16
# scrypt's interactive cost (2^15, 8, 1): about 0.1 s and 32 MiB per file here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
# Every item is a sealed tar archive, <item>.tar.sealed, beside the sealed manifest.
ITEM_SUFFIX = ".tar.sealed"
MANIFEST = "manifest.json.sealed"


class BackupError(Exception):
    """A backup file that cannot be sealed or opened, with the reason."""


def read_passphrase(path: Path) -> bytes:
    if not path.is_file():
        raise BackupError(f"{path}: no passphrase file there")
    if path.stat().st_mode & 0o077:
        raise BackupError(f"{path}: the passphrase file must be readable by its owner only (chmod 600)")
    passphrase = path.read_bytes().strip()
    if len(passphrase) < 16:
        raise BackupError(f"{path}: the passphrase must be at least 16 characters")
    return passphrase


def derive_key(passphrase: bytes, salt: bytes) -> AESGCM:
    return AESGCM(Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase))


def nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", index, last)


def chunks(stream: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """The stream's chunks, each with whether it is the last (an empty stream is one empty last chunk)."""
    current = stream.read(size)
    while True:
        following = stream.read(size)
        yield current, not following
        if not following:
            return
        current = following


def seal(passphrase: bytes, plain: BinaryIO, sealed: BinaryIO) -> None:
    salt, prefix = os.urandom(SALT_BYTES), os.urandom(NONCE_PREFIX_BYTES)
    header = MAGIC + salt + prefix
    key = derive_key(passphrase, salt)
    sealed.write(header)
    for index, (chunk, last) in enumerate(chunks(plain, CHUNK_BYTES)):
        sealed.write(key.encrypt(nonce(prefix, index, last), chunk, header))


def open_sealed(passphrase: bytes, sealed: BinaryIO, plain: BinaryIO) -> None:
    header = sealed.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise BackupError("not a MedLedger backup file")
    salt, prefix = header[len(MAGIC) : -NONCE_PREFIX_BYTES], header[-NONCE_PREFIX_BYTES:]
    key = derive_key(passphrase, salt)
    for index, (chunk, last) in enumerate(chunks(sealed, CHUNK_BYTES + TAG_BYTES)):
        try:
            plain.write(key.decrypt(nonce(prefix, index, last), chunk, header))
        except InvalidTag:
            reason = "a wrong passphrase" if index == 0 else "a damaged or truncated file"
            raise BackupError(f"chunk {index} does not open: {reason}") from None


@contextlib.contextmanager
def written_whole(target: Path) -> Iterator[BinaryIO]:
    """A file (mode 0600) that appears at `target` only if everything was written: never half a restore or a
    sealed file that looks complete."""
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as stream:
            partial.chmod(0o600)
            yield stream
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def open_file(passphrase: bytes, sealed_path: Path, plain_path: Path) -> None:
    with sealed_path.open("rb") as sealed, written_whole(plain_path) as plain:
        open_sealed(passphrase, sealed, plain)


def seal_file(passphrase: bytes, plain_path: Path, sealed_path: Path) -> None:
    with plain_path.open("rb") as plain, written_whole(sealed_path) as sealed:
        seal(passphrase, plain, sealed)


def network_fingerprint(roots: list[Path]) -> str:
    """The network a backup belongs to: its offline roots, which no other network shares."""
    digest = hashlib.sha256()
    for root in sorted(roots, key=lambda path: path.name):
        digest.update(root.name.encode() + b"\0" + root.read_bytes() + b"\0")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def finish(passphrase: bytes, folder: Path, roots: list[Path]) -> dict[str, Any]:
    """Seal the folder's manifest, once: a second call returns the manifest there."""
    if (folder / MANIFEST).exists():
        return check(passphrase, folder, roots)
    items = {path.name.removesuffix(ITEM_SUFFIX): file_digest(path) for path in sorted(folder.glob("*" + ITEM_SUFFIX))}
    manifest = {
        "network": network_fingerprint(roots),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "items": items,
    }
    with written_whole(folder / MANIFEST) as sealed:
        seal(passphrase, io.BytesIO(json.dumps(manifest, indent=1).encode()), sealed)
    return manifest


def check(passphrase: bytes, folder: Path, roots: list[Path]) -> dict[str, Any]:
    if not (folder / MANIFEST).is_file():
        raise BackupError(f"no {MANIFEST}, so not a complete backup (a backup run that stopped halfway?)")
    plain = io.BytesIO()
    with (folder / MANIFEST).open("rb") as sealed:
        open_sealed(passphrase, sealed, plain)
    manifest: dict[str, Any] = json.loads(plain.getvalue())
    if manifest["network"] != network_fingerprint(roots):
        raise BackupError(
            f"{folder}: a backup of another network (its offline roots are not {', '.join(map(str, roots))})"
        )
    for item, digest in manifest["items"].items():
        path = folder / (item + ITEM_SUFFIX)
        if not path.is_file():
            raise BackupError(f"{path.name} is missing")
        if file_digest(path) != digest:
            raise BackupError(f"{path.name} is not the file that was backed up")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="medledger-backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["seal", "open", "finish", "check"])
    parser.add_argument("passphrase_file", type=Path)
    parser.add_argument("source", type=Path)
    parser.add_argument("targets", type=Path, nargs="+")
    args = parser.parse_args(argv)
    try:
        passphrase = read_passphrase(args.passphrase_file)
        if args.action in ("finish", "check"):
            run = finish if args.action == "finish" else check
            print(json.dumps(run(passphrase, args.source, args.targets), indent=1))
            return
        if not args.source.is_file():
            raise BackupError(f"{args.source}: no such file")
        [target] = args.targets
        (seal_file if args.action == "seal" else open_file)(passphrase, args.source, target)
    except BackupError as error:
        sys.exit(f"medledger-backup {args.action} {args.source}: {error}")
