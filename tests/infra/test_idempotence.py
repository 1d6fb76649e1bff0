"""A second run of the whole deployment changes nothing on any host and re-issues no certificate."""

from __future__ import annotations

import re

import pytest

from .conftest import ansible_run, deployed

pytestmark = pytest.mark.lab

CERTIFICATES = (
    "/etc/medledger/fabric/*/msp/signcerts/cert.pem /etc/medledger/fabric/*/tls/server.crt "
    "/var/lib/medledger/fabric-ca/server/*/cert.pem /var/lib/medledger/fabric-ca/server/orgs/*/cert.pem"
)


def serials() -> dict[str, str]:
    """Every certificate's serial on every host, through one ad hoc command."""
    script = f"for c in {CERTIFICATES}; do [ -e $c ] && echo $c $(openssl x509 -noout -serial -in $c); done; true"
    result = ansible_run("all", "-b", "-m", "ansible.builtin.shell", "-a", script)
    assert result.returncode == 0, result.stdout[-2000:]
    found, host = {}, ""
    for line in result.stdout.splitlines():
        if " | CHANGED | " in line or " | SUCCESS | " in line:
            host = line.split(" | ")[0]
        elif line.startswith("/"):
            path, serial = line.split(" ", 1)
            found[f"{host}:{path}"] = serial
    return found


def test_second_run_changes_nothing() -> None:
    before = serials()
    assert len(before) > 20
    result = ansible_run("-v", "playbooks/site.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PRIVATE KEY" not in result.stdout + result.stderr
    recap = dict(re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", result.stdout.split("PLAY RECAP")[1], re.M))
    assert set(recap) >= set(deployed().hosts)
    assert {host: int(changed) for host, changed in recap.items() if int(changed)} == {}
    assert serials() == before
