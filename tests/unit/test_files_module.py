"""medledger_files: many small files in one run, written only when they differ, never outside its root."""

from __future__ import annotations

import grp
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

from medledger_tools.paths import REPO_ROOT

MODULE = REPO_ROOT / "plugins" / "modules" / "medledger_files.py"
ME, MY_GROUP = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def run(tmp_path: Path, **arguments: Any) -> dict[str, Any]:
    settings = tmp_path / "arguments.json"
    settings.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"owner": ME, "group": MY_GROUP, **arguments}}))
    result = subprocess.run([sys.executable, str(MODULE), str(settings)], capture_output=True, text=True, check=False)
    return dict(json.loads(result.stdout))


def test_files_are_written_once_with_their_folders_and_modes(tmp_path: Path) -> None:
    root = tmp_path / "orgs"
    files = {"OrgA/msp/cacerts/root.pem": "root\n", "OrgA/msp/config.yaml": "NodeOUs: {}\n"}
    first = run(tmp_path, root=str(root), files=files)
    assert first["changed"] is True
    assert (root / "OrgA/msp/cacerts/root.pem").read_text() == "root\n"
    for folder in (root, root / "OrgA", root / "OrgA/msp", root / "OrgA/msp/cacerts"):
        assert folder.stat().st_mode & 0o777 == 0o755, folder
    assert (root / "OrgA/msp/config.yaml").stat().st_mode & 0o777 == 0o644
    again = run(tmp_path, root=str(root), files=files)
    assert (again["changed"], again["written"]) == (False, [])


def test_only_what_differs_is_rewritten_and_check_mode_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "orgs"
    run(tmp_path, root=str(root), files={"a.pem": "one\n", "b.pem": "two\n"})
    (root / "b.pem").chmod(0o666)
    checked = run(tmp_path, root=str(root), files={"a.pem": "changed\n", "b.pem": "two\n"}, _ansible_check_mode=True)
    assert (checked["changed"], checked["written"]) == (True, ["a.pem", "b.pem"])
    assert (root / "a.pem").read_text() == "one\n" and (root / "b.pem").stat().st_mode & 0o777 == 0o666
    applied = run(tmp_path, root=str(root), files={"a.pem": "changed\n", "b.pem": "two\n"})
    assert applied["written"] == ["a.pem", "b.pem"]
    assert (root / "a.pem").read_text() == "changed\n" and (root / "b.pem").stat().st_mode & 0o777 == 0o644


def test_a_path_outside_the_root_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    root = tmp_path / "orgs"
    for bad in ("../escape.pem", "/etc/escape.pem", "a/../../escape.pem"):
        result = run(tmp_path, root=str(root), files={"fine.pem": "x\n", bad: "x\n"})
        assert result["failed"] is True and "is not a path below root" in result["msg"], bad
    assert not root.exists() and not (tmp_path / "escape.pem").exists()
