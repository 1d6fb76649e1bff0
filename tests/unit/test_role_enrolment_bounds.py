"""The roles compute enrolment bounds in Jinja (fabric_msp: each identity's --id.maxenrollments; fabric_ca:
the server's registry.maxenrollments); Ansible, given the paper's inventory, must find what
topology.enrolment_counts finds. Evaluated on the control node only (localhost), no host is contacted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from medledger_tools.paths import REPO_ROOT
from medledger_tools.topology import Topology, enrolment_counts

PAPER_INVENTORY = str(REPO_ROOT / "inventories" / "paper")


def role_value(path: str, name: str) -> str:
    return str(yaml.safe_load((REPO_ROOT / path).read_text())[name])


def test_the_roles_bounds_are_the_topologys(paper: Topology, tmp_path: Path) -> None:
    variables = tmp_path / "roles.json"
    counts = role_value("roles/fabric_msp/vars/main.yml", "fabric_msp_enrolment_counts")
    cap = role_value("roles/fabric_ca/defaults/main.yml", "fabric_ca_max_enrollments")
    variables.write_text(json.dumps({"fabric_msp_enrolment_counts": counts, "fabric_ca_max_enrollments": cap}))
    beside = Path(sys.executable).with_name("ansible")
    result = subprocess.run(
        [
            str(beside) if beside.is_file() else "ansible",
            "localhost",
            "-i",
            PAPER_INVENTORY,
            "-o",
            "-m",
            "ansible.builtin.debug",
            "-a",
            '{"msg": {"counts": "{{ fabric_msp_enrolment_counts }}", "cap": "{{ fabric_ca_max_enrollments }}"}}',
            "-e",
            f"@{variables}",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout.split("=>", 1)[1])["msg"]
    expected = enrolment_counts(paper)
    assert found["counts"] == expected
    assert int(found["cap"]) == max(expected.values()) == 4
