"""What must hold of the repository as a whole: no private key material is ever committed (keys are generated
where they are used), and every role starts its service in the one safe order."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

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


def started_and_flushed(tasks: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """The positions of a role's first `state: started` systemd task and of its first handler flush."""
    started = flushed = None
    for position, task in enumerate(tasks):
        module = task.get("ansible.builtin.systemd_service") or {}
        if started is None and isinstance(module, dict) and module.get("state") == "started":
            started = position
        if flushed is None and task.get("ansible.builtin.meta") == "flush_handlers":
            flushed = position
    return started, flushed


def test_every_role_restarts_a_changed_service_before_it_makes_sure_it_runs() -> None:
    """Starting a new service and restarting it a second later (the handler) kills it while it initialises:
    a peer left its LevelDB unreadable that way. Handlers are flushed first; a restart starts a stopped unit."""
    checked = []
    for tasks_file in sorted((REPO_ROOT / "roles").glob("*/tasks/main.yml")):
        started, flushed = started_and_flushed(yaml.safe_load(tasks_file.read_text()) or [])
        if started is not None and flushed is not None:
            checked.append(tasks_file.parent.parent.name)
            assert flushed < started, f"{tasks_file}: handlers are flushed after the service is started"
    assert {"fabric_peer", "fabric_orderer", "kafka", "zookeeper", "medledger_service", "seaweedfs"} <= set(checked)
