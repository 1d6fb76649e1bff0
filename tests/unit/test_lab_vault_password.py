"""The lab's vault password client: ansible-lint's and ansible-playbook's workers call it at the same time on a
fresh machine, and each of them must read the same complete password (an empty one fails the whole run)."""

from __future__ import annotations

import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from medledger_tools.paths import REPO_ROOT

CLIENT = REPO_ROOT / "tools" / "lab-vault-password"


def test_concurrent_first_calls_all_read_one_complete_password(tmp_path: Path) -> None:
    environment = {**os.environ, "HOME": str(tmp_path)}

    def ask(_: int) -> str:
        return subprocess.run(["sh", str(CLIENT)], env=environment, capture_output=True, text=True, check=True).stdout

    with ThreadPoolExecutor(max_workers=32) as pool:
        passwords = set(pool.map(ask, range(64)))
    assert len(passwords) == 1
    (password,) = passwords
    assert len(password) == 64
    lab = tmp_path / ".cache" / "medledger" / "lab"
    assert sorted(path.name for path in lab.iterdir()) == ["vault-pass"]
    assert stat.S_IMODE((lab / "vault-pass").stat().st_mode) == 0o600
