"""Day 2 on the running Kafka lab: hospital operations add a second OrgPatient peer (inventories/extra-peer, a
container at 172.20.29.37) while records keep committing, and take it out again. The peer joins both channels,
catches up, serves queries and endorses; no service on the seven hosts restarts; a second run changes nothing.
Revoked, it receives no further blocks; removal stops and unjoins it, and the orderers' firewalls close to it."""

from __future__ import annotations

import operator
from functools import partial
from pathlib import Path

import pytest
from cryptography import x509

from medledger_tools import topology
from medledger_tools.lab_clients import Ledger
from medledger_tools.paths import REPO_ROOT

from ..waiting import wait_until
from .conftest import deployed, inventory_paths, lab_host
from .day2 import (
    PATIENT_CHANNEL,
    Writer,
    changed_hosts,
    grown_lab,
    invocations,
    on_grown_host,
    other_hosts,
    patient_records,
    playbook,
)
from .fabric_nodes import peer_height

# The lab's own inventories (with its overlays: a playbook run without one would undo what it adds, e.g. close a
# sharing proxy's port on an orderer host whose firewall the join rewrites), and the new peer.
EXTRA_PEER = REPO_ROOT / "inventories" / "extra-peer"
LAB_INVENTORIES = inventory_paths()
NEW_PEER = "vm37"

pytestmark = pytest.mark.lab


def new_peer_height(channel: str) -> int:
    return int(on_grown_host(NEW_PEER, f"medledger-peer-admin height {channel}"))


@pytest.fixture
def joined_inventory(monkeypatch: pytest.MonkeyPatch) -> topology.Topology:
    """The lab grown by the new peer's container; ansible (and the lab's target check) see the grown inventory."""
    return grown_lab([*LAB_INVENTORIES, str(EXTRA_PEER)], monkeypatch)


def test_a_peer_joins_its_organisations_channels_while_records_commit_and_leaves_again(
    joined_inventory: topology.Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grown = Ledger(joined_inventory)
    patient = grown.new_client("OrgPatient", tmp_path, "pat")
    first_peer = grown.channel_peers(PATIENT_CHANNEL)[0]
    before = invocations(other_hosts(NEW_PEER))

    with Writer(patient, first_peer, "t-join") as writer:
        playbook("playbooks/join-peer.yml", "-e", f"peers_to_join={NEW_PEER}")
    assert writer.failures == [] and len(writer.committed) > 0

    # Caught up on both channels with the peer beside it, from the genesis block.
    for channel in joined_inventory.peer_channels(NEW_PEER):
        reference = peer_height(first_peer, channel)
        reached = wait_until(partial(new_peer_height, channel), partial(operator.le, reference), seconds=120)
        assert reached >= reference, channel
    # It answers queries with what was written before it joined, and endorses a new record (its Gateway asks
    # its own peer for its organisation's endorsement).
    with patient_records(patient, NEW_PEER) as records:
        assert records.evaluate("QueryByPidAndTid", patient.name, writer.committed[0])
        records.submit("SavePatientData", patient.signed_record("t-through-the-new-peer", b"y").to_json())
    # A second run changes nothing, and no service of the seven hosts restarted.
    assert changed_hosts(playbook("playbooks/join-peer.yml", "-e", f"peers_to_join={NEW_PEER}")) == {}
    assert invocations(other_hosts(NEW_PEER)) == before

    # Revoked, the peer is refused by the channels: neither the orderers (its organisation's CRL is in the
    # channels' configuration) nor its organisation's other peers (restarted with the CRL in their local MSPs,
    # against which they check each other in gossip) give it the blocks that follow.
    peer_name = joined_inventory.hostvars[NEW_PEER]["fabric_peer_name"]
    certificate = x509.load_pem_x509_certificate(
        on_grown_host(NEW_PEER, f"cat /etc/medledger/fabric/{peer_name}/msp/signcerts/cert.pem").encode()
    )
    playbook("playbooks/revoke.yml", "-e", f"identity={peer_name}", "-e", "organisation=OrgPatient")
    with patient_records(patient, first_peer) as records:
        block = records.submit("SavePatientData", patient.signed_record("t-after-revocation", b"z").to_json()).block
    reached = wait_until(partial(new_peer_height, PATIENT_CHANNEL), partial(operator.lt, block), seconds=20)
    assert reached <= block, f"the revoked peer received block {block}"
    settled = invocations(other_hosts(NEW_PEER))

    playbook("playbooks/remove-peer.yml", "-e", f"peers_to_remove={NEW_PEER}")
    assert on_grown_host(NEW_PEER, "systemctl is-active fabric-peer || true") == "inactive"
    assert on_grown_host(NEW_PEER, "ls /var/lib/medledger/*/data/ledgersData/chains/chains/ 2>/dev/null | wc -l") == "0"
    # Its enrolment certificate is on its CA's CRL, as the other hosts' MSPs hold it.
    first_peer_name = deployed().hostvars[first_peer]["fabric_peer_name"]
    crl = x509.load_pem_x509_crl(
        lab_host(first_peer).check_output(f"cat /etc/medledger/fabric/{first_peer_name}/msp/crls/crl.pem").encode()
    )
    assert crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
    # With the host deleted from the inventory, the orderers' firewalls close to it again; nothing restarted.
    monkeypatch.setenv("ANSIBLE_INVENTORY", ",".join(LAB_INVENTORIES))
    playbook("playbooks/firewall.yml")
    new_address = str(joined_inventory.hostvars[NEW_PEER]["ansible_host"])
    for orderer in deployed().members("orderers"):
        assert new_address not in lab_host(orderer).check_output("nft list table inet medledger"), orderer
    assert invocations(other_hosts(NEW_PEER)) == settled
