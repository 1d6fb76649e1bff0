"""medledger-backup: what it seals opens with the passphrase and nothing else, and no damage goes unnoticed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from medledger_tools import backup

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 64 bytes, so that a few hundred bytes cross several chunk boundaries."""
    monkeypatch.setattr(backup, "CHUNK_BYTES", 64)
    monkeypatch.setattr(backup, "SCRYPT_N", 1 << 10)


def sealed(plain: bytes, passphrase: bytes = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    backup.seal(passphrase, io.BytesIO(plain), out)
    return out.getvalue()


def opened(data: bytes, passphrase: bytes = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    backup.open_sealed(passphrase, io.BytesIO(data), out)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 300])
def test_what_is_sealed_opens_unchanged_at_every_size_around_a_chunk(size: int) -> None:
    plain = bytes(range(256)) * 2
    assert opened(sealed(plain[:size])) == plain[:size]


def test_the_sealed_file_does_not_contain_the_plain_text() -> None:
    plain = b"a CA's signing key, base64 " * 10
    assert b"signing key" not in sealed(plain)


def test_two_seals_of_the_same_file_differ() -> None:
    assert sealed(b"same") != sealed(b"same")


def test_a_wrong_passphrase_is_named() -> None:
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        opened(sealed(b"ledger"), b"another passphrase entirely")


def test_a_flipped_byte_anywhere_fails() -> None:
    data = sealed(bytes(200))
    for position in range(len(backup.MAGIC), len(data), 7):
        damaged = bytearray(data)
        damaged[position] ^= 1
        with pytest.raises(backup.BackupError):
            opened(bytes(damaged))


def test_a_file_truncated_at_a_chunk_boundary_fails() -> None:
    data = sealed(bytes(200))
    one_chunk = backup.HEADER_BYTES + backup.CHUNK_BYTES + backup.TAG_BYTES
    with pytest.raises(backup.BackupError, match="damaged or truncated"):
        opened(data[: one_chunk + backup.CHUNK_BYTES + backup.TAG_BYTES])
    with pytest.raises(backup.BackupError):
        opened(data[: backup.HEADER_BYTES])


def test_reordered_chunks_fail() -> None:
    data = sealed(bytes(range(128)) + bytes(range(100)))
    step = backup.CHUNK_BYTES + backup.TAG_BYTES
    body = data[backup.HEADER_BYTES :]
    header, first, second = data[: backup.HEADER_BYTES], body[:step], body[step : 2 * step]
    rest = data[backup.HEADER_BYTES + 2 * step :]
    with pytest.raises(backup.BackupError):
        opened(header + second + first + rest)


def test_a_chunk_moved_under_another_files_header_fails() -> None:
    one, other = sealed(bytes(100)), sealed(bytes(100))
    with pytest.raises(backup.BackupError):
        opened(other[: backup.HEADER_BYTES] + one[backup.HEADER_BYTES :])


def test_a_file_that_is_not_a_backup_is_named() -> None:
    with pytest.raises(backup.BackupError, match="not a MedLedger backup"):
        opened(b"hello world, this is plain text and long enough")


def test_opening_writes_nothing_when_the_file_is_damaged(tmp_path: Path) -> None:
    source, target = tmp_path / "ca.tar.sealed", tmp_path / "ca.tar"
    source.write_bytes(sealed(bytes(200))[:-1])
    with pytest.raises(backup.BackupError):
        backup.open_file(PASSPHRASE, source, target)
    assert list(tmp_path.iterdir()) == [source]


def test_the_command_refuses_a_passphrase_file_others_can_read(tmp_path: Path) -> None:
    passphrase, plain = tmp_path / "passphrase", tmp_path / "plain"
    passphrase.write_bytes(PASSPHRASE)
    plain.write_bytes(b"x")
    passphrase.chmod(0o644)
    with pytest.raises(SystemExit, match="readable by its owner only"):
        backup.main(["seal", str(passphrase), str(plain), str(tmp_path / "sealed")])
    passphrase.chmod(0o600)
    backup.main(["seal", str(passphrase), str(plain), str(tmp_path / "sealed")])
    backup.main(["open", str(passphrase), str(tmp_path / "sealed"), str(tmp_path / "opened")])
    assert (tmp_path / "opened").read_bytes() == b"x"
    assert (tmp_path / "opened").stat().st_mode & 0o777 == 0o600


def backup_folder(tmp_path: Path, roots: list[Path]) -> Path:
    folder = tmp_path / "backup"
    folder.mkdir()
    for name in ("control", "ca-ca0"):
        (folder / (name + backup.ITEM_SUFFIX)).write_bytes(sealed(name.encode()))
    backup.finish(PASSPHRASE, folder, roots)
    return folder


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "enrolment-root.pem", tmp_path / "tls-root.pem"]
    for path in paths:
        path.write_text(f"root of {path.stem}")
    return paths


def test_a_finished_backup_checks_and_lists_its_items(tmp_path: Path, roots: list[Path]) -> None:
    manifest = backup.check(PASSPHRASE, backup_folder(tmp_path, roots), roots)
    assert sorted(manifest["items"]) == ["ca-ca0", "control"]


def test_finishing_twice_keeps_the_first_manifest(tmp_path: Path, roots: list[Path]) -> None:
    folder = backup_folder(tmp_path, roots)
    first = (folder / backup.MANIFEST).read_bytes()
    (folder / "late.tar.sealed").write_bytes(sealed(b"late"))
    backup.finish(PASSPHRASE, folder, roots)
    assert (folder / backup.MANIFEST).read_bytes() == first


def test_a_backup_of_another_network_is_refused(tmp_path: Path, roots: list[Path]) -> None:
    folder = backup_folder(tmp_path, roots)
    roots[0].write_text("the root of another network")
    with pytest.raises(backup.BackupError, match="another network"):
        backup.check(PASSPHRASE, folder, roots)


def test_a_replaced_or_missing_item_is_named(tmp_path: Path, roots: list[Path]) -> None:
    folder = backup_folder(tmp_path, roots)
    (folder / "ca-ca0.tar.sealed").write_bytes(sealed(b"another CA"))
    with pytest.raises(backup.BackupError, match=r"ca-ca0\.tar\.sealed is not the file"):
        backup.check(PASSPHRASE, folder, roots)
    (folder / "ca-ca0.tar.sealed").unlink()
    with pytest.raises(backup.BackupError, match=r"ca-ca0\.tar\.sealed is missing"):
        backup.check(PASSPHRASE, folder, roots)


def test_a_backup_without_a_manifest_is_incomplete(tmp_path: Path, roots: list[Path]) -> None:
    with pytest.raises(backup.BackupError, match="not a complete backup"):
        backup.check(PASSPHRASE, tmp_path, roots)
