"""The offline roots: made once on the control node, keys vault-encrypted, nothing secret in the output."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import run_playbook

PLAY = """
- name: Offline roots
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: pki_root
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    work = tmp_path_factory.mktemp("pki")
    (work / "vault-pass").write_text("test-only-vault-password\n")
    (work / "play.yml").write_text(PLAY)
    outputs = []
    for _ in range(2):
        result = run_playbook(
            "-v",
            "-i",
            "localhost,",
            str(work / "play.yml"),
            "-e",
            f"medledger_pki_dir={work / 'pki'}",
            ANSIBLE_VAULT_PASSWORD_FILE=str(work / "vault-pass"),
        )
        assert result.returncode == 0, result.stdout[-3000:]
        outputs.append(result.stdout + result.stderr)
    return work / "pki", work / "vault-pass", outputs


def vault_view(path: Path, password: Path) -> str:
    return subprocess.run(
        ["ansible-vault", "view", "--vault-password-file", str(password), str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_keys_and_seed_are_vault_encrypted_and_private(runs: tuple[Path, Path, list[str]]) -> None:
    pki, password, _ = runs
    for name in ("enrolment-root.key.vault", "tls-root.key.vault", "seed.vault"):
        path = pki / name
        assert path.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
        assert path.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY-----" in vault_view(pki / "tls-root.key.vault", password)


def test_roots_are_self_signed_cas_that_allow_one_intermediate(runs: tuple[Path, Path, list[str]]) -> None:
    pki, _, _ = runs
    for root in ("enrolment", "tls"):
        cert = str(pki / f"{root}-root.pem")
        assert (
            subprocess.run(["openssl", "verify", "-CAfile", cert, cert], capture_output=True, check=False).returncode
            == 0
        )
        text = subprocess.run(
            ["openssl", "x509", "-noout", "-text", "-in", cert], capture_output=True, text=True, check=True
        ).stdout
        assert "CA:TRUE, pathlen:1" in text and "Certificate Sign, CRL Sign" in text
        assert "prime256v1" in text


def test_nothing_secret_in_the_output(runs: tuple[Path, Path, list[str]]) -> None:
    pki, password, outputs = runs
    seed = vault_view(pki / "seed.vault", password).strip()
    for output in outputs:
        assert "PRIVATE KEY" not in output
        assert seed not in output


def test_second_run_changes_nothing(runs: tuple[Path, Path, list[str]]) -> None:
    _, _, outputs = runs
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=0\s", outputs[1]), outputs[1][-2000:]
    assert not re.search(r"localhost\s+:\s+ok=\d+\s+changed=0\s", outputs[0])
