"""A second run of the whole deployment changes nothing on any host and re-issues no certificate."""

from __future__ import annotations

import re

import pytest

from .conftest import ansible_run, deployed, lab_host, role_var

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


def test_a_run_restores_what_was_edited_on_one_host_and_restarts_only_that_service() -> None:
    """The fast paths of a re-run (one look at every artifact, one write of the verifying MSPs) still see a
    changed file: a peer's edited configuration, an organisation's edited MSP file and a removed
    current-version link are put back, and only the peer restarts, not the chaincode servers beside it (the
    run ends when the restarted peer reports healthy). Run once, on the Kafka lab."""
    target = "vm34"
    peer_config = f"{role_var('fabric_peer', 'fabric_peer_config_dir', target)}/core.yaml"
    msp_config = f"{role_var('fabric_msp', 'fabric_msp_dir', target)}/orgs/OrgOrderer/msp/config.yaml"
    link = f"{role_var('common', 'common_install_dir', target)}/fabric"
    host = lab_host(target)
    units = ["fabric-peer", "medledger-chaincode@data_usage"]

    def state() -> dict[str, str]:
        sums = host.check_output(f"sha256sum {peer_config} {msp_config}")
        started = host.check_output(f"systemctl show -p InvocationID --value {' '.join(units)}").split()
        return {"sums": sums, "link": host.check_output(f"readlink {link}"), **dict(zip(units, started, strict=True))}

    before = state()
    host.check_output(f"echo '# edited by hand' >> {peer_config} && echo '# edited' >> {msp_config} && rm {link}")
    result = ansible_run("playbooks/site.yml", "--limit", target)
    assert result.returncode == 0, result.stdout[-3000:]
    after = state()
    assert (after["sums"], after["link"]) == (before["sums"], before["link"])
    assert after["fabric-peer"] != before["fabric-peer"], "the peer was not restarted"
    assert after["medledger-chaincode@data_usage"] == before["medledger-chaincode@data_usage"]


def test_a_host_laid_out_for_the_former_shared_fabric_user_is_refused_before_anything_changes() -> None:
    """A host still holding the state of the one-user layout (<state>/fabric) would get a second CA with new
    keys beside its old one: the common role stops the run on that host before its first change. Run once,
    on the Kafka lab."""
    target = "vm34"
    former = f"{role_var('common', 'common_state_dir', target)}/fabric"
    host = lab_host(target)
    host.check_output(f"mkdir {former}")
    try:
        result = ansible_run("playbooks/site.yml", "--limit", target)
    finally:
        host.check_output(f"rmdir {former}")
    assert result.returncode != 0
    assert f"{former} holds the state of a deployment where one user" in result.stdout
    recap = re.search(rf"^{target}\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=1", result.stdout, re.M)
    assert recap is not None and recap.group(1) == "0", result.stdout[-3000:]
