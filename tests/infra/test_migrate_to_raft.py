"""Day 2: the Kafka lab migrates to Raft (playbooks/migrate-to-raft.yml, Fabric's procedure) with the inventory
saying etcdraft (inventories/raft). Records written before are read after, new ones commit, every orderer
serves the application channels on Raft and no system channel, Kafka and ZooKeeper are gone, and the
inventory's Raft deployment changes none of the migrated nodes. `make infra-migrate` runs this on the lab the
Kafka suite leaves, then the Raft ordering tests on the migrated network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medledger_tools import lab_clients
from medledger_tools.lab_clients import Ledger

from .conftest import deployed, lab_host, probe_from, role_var
from .day2 import PATIENT_CHANNEL, changed_hosts, invocations, patient_records, playbook

LEDGER = Ledger(deployed())

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        deployed().global_var("medledger_consensus") != "etcdraft",
        reason="migrates the lab: `make infra-migrate` runs it with inventories/raft once the Kafka suite is done",
    ),
]


def orderer_admin(host: str, *args: str) -> str:
    return str(lab_host(host).check_output("medledger-orderer-admin " + " ".join(args))).strip()


def units_named(host: str, *units: str) -> str:
    return str(lab_host(host).run(f"systemctl list-unit-files --no-legend {' '.join(units)}").stdout).strip()


def units_of(hosts: list[str], *kinds: str) -> dict[str, dict[str, str]]:
    """The invocation IDs of the units of those kinds (name prefixes) on the hosts."""
    return {host: {u: i for u, i in units.items() if u.startswith(kinds)} for host, units in invocations(hosts).items()}


PEER_UNITS = ("fabric-peer", "medledger-chaincode")


def test_a_migration_with_an_inventory_that_still_says_kafka_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_INVENTORY", "inventories/paper,inventories/lab")
    refused = lab_clients.ansible("playbooks/migrate-to-raft.yml")
    assert refused.returncode != 0
    assert "set medledger_consensus: etcdraft in the inventory" in " ".join(refused.stdout.split())
    assert "PLAY [Find how far the migration is]" not in refused.stdout


def test_the_kafka_lab_migrates_to_raft_with_its_records(tmp_path: Path) -> None:
    kafka_hosts = deployed().members("kafka") + deployed().members("zookeeper")
    brokers = deployed().members("kafka")
    assert all(lab_host(host).service("kafka").is_running for host in brokers), "the lab must be on Kafka (make up)"
    patient = LEDGER.new_client("OrgPatient", tmp_path, "mig")
    first_peer = LEDGER.channel_peers(PATIENT_CHANNEL)[0]
    with patient_records(patient, first_peer) as records:
        records.submit("SavePatientData", patient.signed_record("t-on-kafka", b"k").to_json())
    peers = deployed().members("peers")
    peer_units = units_of(peers, *PEER_UNITS)

    playbook("playbooks/migrate-to-raft.yml")

    # Every orderer serves the application channels on Raft, in normal operation, and no system channel.
    channels = sorted(channel["name"] for channel in deployed().global_var("medledger_channels"))
    for orderer in deployed().members("orderers"):
        listing = json.loads(orderer_admin(orderer, "channels"))
        assert listing["systemChannel"] is None, orderer
        assert sorted(channel["name"] for channel in listing["channels"]) == channels, orderer
        for channel in channels:
            consensus = json.loads(orderer_admin(orderer, "consensus", channel))
            assert consensus == {"type": "etcdraft", "state": "STATE_NORMAL"}, (orderer, channel)
    # The record from Kafka's time is read, a new one commits; the peers were not restarted.
    with patient_records(patient, first_peer) as records:
        assert records.evaluate("QueryByPidAndTid", patient.name, "t-on-kafka")
        records.submit("SavePatientData", patient.signed_record("t-on-raft", b"r").to_json())
    assert units_of(peers, *PEER_UNITS) == peer_units
    # Kafka and ZooKeeper are gone, and the firewalls closed to them.
    for host in kafka_hosts:
        assert units_named(host, "kafka.service", "zookeeper.service") == "", host
        assert lab_host(host).run("ls /etc/medledger/kafka /etc/medledger/zookeeper").rc != 0, host
        # Their TLS identities' keys too: no credential of a service that is gone stays on a host.
        identities = str(lab_host(host).check_output("ls /etc/medledger/fabric")).split()
        assert [name for name in identities if name.startswith(("kafka", "zookeeper"))] == [], host
        # An orderer, which reached the brokers before, meets the firewall now.
        source = next(orderer for orderer in deployed().members("orderers") if orderer != host)
        address = str(deployed().hostvars[host]["ansible_host"])
        ports = (role_var("kafka", "kafka_port", host), role_var("zookeeper", "zookeeper_secure_client_port", host))
        assert [probe_from(source, address, int(port)) for port in ports] == ["filtered", "filtered"], host

    # Migrating again is refused, before any host changes.
    again = lab_clients.ansible("playbooks/migrate-to-raft.yml")
    assert again.returncode != 0 and "on Raft already" in " ".join(again.stdout.split())
    # The inventory's Raft deployment restarts none of the orderers, peers and chaincode servers (the CA servers
    # restart: their enrolment cap no longer counts the brokers' identities): the migrated network is the one
    # it describes, and each peer finds its channels' current configuration to be the inventory's.
    fabric_hosts = deployed().members("orderers") + peers
    before_site = units_of(fabric_hosts, "fabric-orderer", *PEER_UNITS)
    site = playbook("playbooks/site.yml")
    assert units_of(fabric_hosts, "fabric-orderer", *PEER_UNITS) == before_site, changed_hosts(site)
    for peer in peers:
        for channel in deployed().peer_channels(peer):
            block = f"/etc/medledger/peer/channels/{channel}.block"
            assert lab_host(peer).check_output(f"medledger-peer-admin join {channel} {block}") == "joined already"
