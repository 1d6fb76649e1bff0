"""medledger-k8s-secret: two components agree on a secret one of them made inside the cluster."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from medledger_tools.k8s import secrets
from medledger_tools.k8s.incluster import ApiError
from tests.unit.test_k8s_enrol import Secrets


def test_the_first_component_makes_random_values_and_the_second_reads_the_same(tmp_path: Path) -> None:
    store = Secrets()
    first, second = tmp_path / "postgresql", tmp_path / "storage"
    assert secrets.ensure_secret(store, "medledger-postgresql-orgpatient-storage", ["password"], first) == "made"
    assert secrets.ensure_secret(store, "medledger-postgresql-orgpatient-storage", ["password"], second) == "read"
    password = (first / "password").read_bytes()
    assert len(password) == 2 * secrets.VALUE_BYTES and int(password, 16) >= 0
    assert (second / "password").read_bytes() == password
    assert stat.S_IMODE((second / "password").stat().st_mode) == 0o600


def test_each_secret_and_each_key_gets_its_own_value(tmp_path: Path) -> None:
    store = Secrets()
    secrets.ensure_secret(store, "one", ["write", "read"], tmp_path / "one")
    secrets.ensure_secret(store, "two", ["write"], tmp_path / "two")
    values = {(tmp_path / folder / key).read_bytes() for folder, key in (("one", "write"), ("one", "read"),
                                                                         ("two", "write"))}  # fmt: skip
    assert len(values) == 3


def test_a_concurrent_start_that_stored_first_wins(tmp_path: Path) -> None:
    store = Secrets(taken={"password": b"theirs"})
    assert secrets.ensure_secret(store, "shared", ["password"], tmp_path) == "read"
    assert (tmp_path / "password").read_bytes() == b"theirs"


def test_a_secret_made_with_other_keys_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = Secrets()
    store.secrets["shared"] = {"password": b"x"}
    with pytest.raises(ApiError, match="holds no s3"):
        secrets.ensure_secret(store, "shared", ["password", "s3"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_malformed_key_is_refused_before_the_api_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        secrets.main(["--secret-name", "x", "--key", "../etc/passwd", "--out", "/nonexistent"], store=Secrets())
    assert "lowercase words" in capsys.readouterr().err


def test_the_command_says_what_it_did_and_never_prints_a_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Secrets()
    assert secrets.main(["--secret-name", "s", "--key", "password", "--out", str(tmp_path)], store=store) == 0
    output = capsys.readouterr().out
    assert output == "medledger-k8s-secret: s: made (password)\n"
    assert store.secrets["s"]["password"].decode() not in output
