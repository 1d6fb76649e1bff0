"""Running the real playbooks on the control node, without the lab."""

from __future__ import annotations

import os
import subprocess

from medledger_tools.paths import REPO_ROOT


def run_playbook(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **env)
    return subprocess.run(
        ["ansible-playbook", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
