"""Day 2 on a lab deployed on Fabric 2.5.0 (inventories/fabric-2.5.0, which `make test` deploys): the rolling
upgrade to versions.yml's default release (playbooks/upgrade-fabric.yml, the inventory without the overlay).
site.yml refuses to switch a running node's release and changes nothing; the playbook restarts each orderer,
then each peer, on the new release, one at a time, while a patient keeps committing records through the first
hospital's peers (failing over from a peer that restarts); afterwards every node runs the new release, every
orderer serves every channel at one height (on Raft as an active consenter), the ledger is whole, and a second
run changes nothing. Runs before every other lab test (its `runs_first` mark), so that they meet the upgraded
network: on the Kafka ordering the paper's network uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medledger_tools import lab_clients
from medledger_tools.lab_clients import Ledger
from medledger_tools.paths import REPO_ROOT

from .conftest import deployed, lab_host, role_var
from .day2 import PATIENT_CHANNEL, Writer, assert_records_read_and_commit, changed_hosts, invocations, playbook
from .ordering import assert_every_orderer_serves_at_one_height

pytestmark = [pytest.mark.lab, pytest.mark.runs_first]

UPGRADE = "playbooks/upgrade-fabric.yml"
DEFAULT_RELEASE = str(yaml.safe_load((REPO_ROOT / "versions.yml").read_text())["fabric"]["version"])
# As the renewal test: a client failing over between the hospital's peers waits this long while a node restarts.
PATIENCE = 60
# Each kind of Fabric node: its role, whose variables name its identity and operations port.
NODE_ROLES = {"orderers": "fabric_orderer", "peers": "fabric_peer"}


def running_releases() -> dict[str, str]:
    """Each Fabric node's running release, "<host> <role>" -> what its operations service's /version says."""
    found = {}
    for group, role in NODE_ROLES.items():
        for host in deployed().members(group):
            address = deployed().hostvars[host]["ansible_host"]
            port = role_var(role, f"{role}_operations_port", host)
            tls_ca = f"{role_var(role, f'{role}_msp_dir', host)}/{deployed().hostvars[host][f'{role}_name']}/tls/ca.crt"
            fetch = (
                "import json, ssl, urllib.request; "
                f"tls = ssl.create_default_context(cafile='{tls_ca}'); "
                f"print(json.load(urllib.request.urlopen('https://{address}:{port}/version', context=tls))['Version'])"
            )
            found[f"{host} {role}"] = lab_host(host).check_output(f'python3 -c "{fetch}"').strip()
    return found


def fabric_links() -> dict[str, str]:
    hosts = sorted(set(deployed().members("orderers")) | set(deployed().members("peers")))
    return {host: lab_host(host).check_output("readlink /opt/medledger/fabric") for host in hosts}


def test_fabric_is_upgraded_one_node_at_a_time_while_records_commit(tmp_path: Path) -> None:
    before = running_releases()
    if set(before.values()) == {DEFAULT_RELEASE}:
        pytest.skip(f"the lab runs Fabric {DEFAULT_RELEASE} already; make test deploys 2.5.0 to upgrade it")
    assert set(before.values()) == {"2.5.0"}, before

    # site.yml with the inventory asking for the default release: refused on every node's host, nothing changed.
    restarts = invocations(deployed().hosts)
    refused = lab_clients.ansible("playbooks/site.yml")
    assert refused.returncode != 0
    assert "its nodes switch release only through playbooks/upgrade-fabric.yml" in " ".join(refused.stdout.split())
    assert running_releases() == before
    assert set(fabric_links().values()) == {"fabric-2.5.0"}
    assert invocations(deployed().hosts) == restarts

    ledger = Ledger(deployed())
    patient = ledger.new_client("OrgPatient", tmp_path, "pat")
    hospital_peers = [
        peer for peer in ledger.channel_peers(PATIENT_CHANNEL) if deployed().peer_organisation(peer) == "OrgPatient"
    ]
    with Writer(patient, hospital_peers, "t-upgrade", patience=PATIENCE) as writer:
        playbook(UPGRADE)
    assert writer.failures == [] and len(writer.committed) > 0

    assert running_releases() == dict.fromkeys(before, DEFAULT_RELEASE)
    assert set(fabric_links().values()) == {f"fabric-{DEFAULT_RELEASE}"}
    assert_every_orderer_serves_at_one_height()

    # What was written before and during the upgrade is read, and a new record commits through each hospital peer.
    assert_records_read_and_commit(patient, hospital_peers, [writer.committed[0], writer.committed[-1]], "t-upgraded")

    assert changed_hosts(playbook(UPGRADE)) == {}
