"""A second run of the whole deployment changes nothing on any host."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from medledger_tools.paths import REPO_ROOT

from .conftest import check_target, deployed

pytestmark = pytest.mark.lab


def test_second_run_changes_nothing() -> None:
    for host in deployed().hosts:
        check_target(str(deployed().hostvars[host]["ansible_host"]))
    result = subprocess.run(
        ["ansible-playbook", "-v", "playbooks/site.yml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PRIVATE KEY" not in result.stdout + result.stderr
    recap = dict(re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", result.stdout.split("PLAY RECAP")[1], re.M))
    assert set(recap) >= set(deployed().hosts)
    assert {host: int(changed) for host, changed in recap.items() if int(changed)} == {}
