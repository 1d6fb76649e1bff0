"""No private key material is ever committed: keys are generated where they are used."""

from __future__ import annotations

import re
import subprocess

from medledger_tools.paths import REPO_ROOT

PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n[A-Za-z0-9+/=\s]{40,}")
VAULT = re.compile(r"^\$ANSIBLE_VAULT;", re.M)


def test_no_private_key_or_vault_file_is_tracked() -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    offenders = []
    for name in filter(None, files.decode().split("\0")):
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if PEM_PRIVATE_KEY.search(text) or VAULT.search(text):
            offenders.append(name)
    assert offenders == []


def test_the_check_recognises_a_key() -> None:
    key = "-----BEGIN EC " + "PRIVATE KEY-----\n" + "MHcCAQEEIBkg4LVWM9nuwNSk3yXxDoRFXf2YjH1x8K6z4Yt2xq8LoAoGCCqGSM49\n"
    assert PEM_PRIVATE_KEY.search(key)
