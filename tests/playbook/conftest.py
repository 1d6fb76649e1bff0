"""Running the real playbooks on the control node, without the lab."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

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


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """A manifest with one tiny artifact per name the roles ask for, so the artifact checks pass and only
    what a test breaks can fail."""
    directory = tmp_path / "artifacts"
    directory.mkdir()
    manifest: dict[str, dict[str, object]] = {"artifacts": {}, "unavailable": {}}
    for name, recipe in yaml.safe_load((REPO_ROOT / "versions.yml").read_text()).items():
        tarball = directory / f"{name}.tar.gz"
        tarball.write_bytes(name.encode())
        digest = subprocess.run(["sha256sum", str(tarball)], capture_output=True, text=True, check=True)
        manifest["artifacts"][name] = {
            "tarball": tarball.name,
            "sha256": digest.stdout.split()[0],
            "version": str(recipe["version"]),
        }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory
