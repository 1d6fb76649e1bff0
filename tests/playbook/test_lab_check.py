"""With the lab down, no playbook run against the lab inventory sends anything to a lab address.

The lab's addresses are routable: with no lab container holding them, SSH to them would leave this
machine for hosts that are not ours. Every playbook imports playbooks/validate.yml first, whose first
play refuses (medledger_lab_check) when the inventory sets `medledger_lab` and a host is not a running
lab container. The lab is forced down whatever this machine runs: the check is pointed at a Docker
socket that does not exist (MEDLEDGER_DOCKER_SOCKET). The proof that nothing left is the SSH executable:
a recorder that would log every connection attempt (and fail it) is never called. The artifacts are a
valid fake, so without the check the run would get as far as connecting.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medledger_tools.paths import REPO_ROOT

from .conftest import run_playbook

PLAYBOOKS = REPO_ROOT / "playbooks"
LAB_INVENTORY = ("-i", str(REPO_ROOT / "inventories" / "paper"), "-i", str(REPO_ROOT / "inventories" / "lab"))
REFUSAL = (
    "lab is not up: vm30 (172.20.29.30) is not a running lab container (no Docker engine answers at {socket}: "
    "DockerException); run make lab-up"
)
# What each playbook needs on its command line to get past its own argument checks.
EXTRA_ARGS: dict[str, tuple[str, ...]] = {
    "rotate-tls.yml": ("-e", "identity=peermindray"),
    "revoke.yml": ("-e", "identity=svc-storage", "-e", "organisation=OrgPatient"),
}
RECORDER = """#!/bin/sh
printf '%s\\n' "$0 $*" >> "{log}"
exit 255
"""


def run_with_lab_down(tmp_path: Path, artifacts: Path, *args: str) -> tuple[int, str, Path, str]:
    """Run a playbook against the lab inventory with no Docker engine; every ssh, sftp or scp is recorded."""
    log = tmp_path / "connections.log"
    recorder = tmp_path / "ssh-recorder"
    recorder.write_text(RECORDER.format(log=log))
    recorder.chmod(0o755)
    socket = str(tmp_path / "no-docker.sock")
    result = run_playbook(
        *LAB_INVENTORY,
        *args,
        "-e",
        f"ansible_ssh_executable={recorder}",
        # Should the check ever be bypassed, the control-node roots go here, not into the lab's.
        "-e",
        f"medledger_pki_dir={tmp_path / 'pki'}",
        MEDLEDGER_DOCKER_SOCKET=socket,
        ANSIBLE_SSH_EXECUTABLE=str(recorder),
        ANSIBLE_SFTP_EXECUTABLE=str(recorder),
        ANSIBLE_SCP_EXECUTABLE=str(recorder),
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"),
        ARTIFACTS_DIR=str(artifacts),
    )
    return result.returncode, result.stdout + result.stderr, log, REFUSAL.format(socket=socket)


def playbook_names() -> list[str]:
    return sorted(path.name for path in PLAYBOOKS.glob("*.yml"))


@pytest.mark.parametrize("playbook", playbook_names())
def test_playbook_refuses_when_the_lab_is_down(playbook: str, tmp_path: Path, artifacts: Path) -> None:
    code, output, log, refusal = run_with_lab_down(
        tmp_path, artifacts, str(PLAYBOOKS / playbook), *EXTRA_ARGS.get(playbook, ())
    )
    assert code != 0, output[-3000:]
    assert refusal in output, output[-3000:]
    assert not log.exists(), f"connection attempted:\n{log.read_text()}"


@pytest.mark.parametrize(
    "options",
    [("--limit", "vm34"), ("--tags", "peers"), ("--check",)],
    ids=["limit", "tags", "check-mode"],
)
def test_limit_tags_and_check_mode_do_not_skip_the_check(
    options: tuple[str, ...], tmp_path: Path, artifacts: Path
) -> None:
    code, output, log, refusal = run_with_lab_down(tmp_path, artifacts, str(PLAYBOOKS / "site.yml"), *options)
    assert code != 0, output[-3000:]
    assert refusal in output, output[-3000:]
    assert not log.exists(), f"connection attempted:\n{log.read_text()}"


@pytest.mark.parametrize("playbook", [name for name in playbook_names() if name != "validate.yml"])
def test_every_playbook_imports_validate_first(playbook: str) -> None:
    """Its first play imports validate.yml, or a playbook that does (rotate-tls.yml is renew-certificates.yml)."""
    first = yaml.safe_load((PLAYBOOKS / playbook).read_text())[0].get("ansible.builtin.import_playbook")
    while first not in (None, "validate.yml"):
        first = yaml.safe_load((PLAYBOOKS / first).read_text())[0].get("ansible.builtin.import_playbook")
    assert first == "validate.yml"


def test_validate_checks_the_lab_before_anything_else() -> None:
    plays = yaml.safe_load((PLAYBOOKS / "validate.yml").read_text())
    first = plays[0]
    assert first["hosts"] == "all" and first["gather_facts"] is False
    assert [next(key for key in task if key != "name") for task in first["tasks"]] == [
        "ansible.builtin.meta",
        "medledger_lab_check",
    ]


def test_lab_inventory_is_marked() -> None:
    lab_vars = yaml.safe_load((REPO_ROOT / "inventories" / "lab" / "group_vars" / "all.yml").read_text())
    paper_vars = yaml.safe_load((REPO_ROOT / "inventories" / "paper" / "group_vars" / "all.yml").read_text())
    assert lab_vars["medledger_lab"] is True
    assert "medledger_lab" not in paper_vars
