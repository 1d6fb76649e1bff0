"""The peers on the cluster, Kafka ordering: each organisation's channel Job (its admin enrolled in the Job) made
the channels and joined its own peers, so that every peer holds the channels the inventory gives it and no other:
the third party's peers are not in the Patient Channel. Attacked the way an insider would: a hospital peer, whose
TLS certificate the brokers accept (its CA server is the ordering service's), cannot see the Patient Channel's
topic on Kafka, the hole the VMs' review found."""

from __future__ import annotations

import re
import ssl
import time
import urllib.request
from pathlib import Path

import pytest

from medledger_tools import helm_values, topology
from medledger_tools.k8s.layout import Layout
from medledger_tools.paths import REPO_ROOT
from tests.k8s.clients import TOPIC_AUTHORIZATION_FAILED, topic_metadata
from tests.k8s.test_orderer import own_identity
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl, helm_test, target

pytestmark = pytest.mark.k8s

PEERS = {
    peer["name"]: peer
    for peer in helm_values.render(topology.load(str(REPO_ROOT / "inventories" / "paper")))["peer"]["peers"]
}
HEIGHT = re.compile(r'^ledger_blockchain_height\{channel="([^"]+)"\} (\d+)', re.MULTILINE)
KNOWN = re.compile(r'^gossip_membership_total_peers_known\{channel="([^"]+)"\} (\d+)', re.MULTILINE)


def metrics(layout: Layout, kubectl: Kubectl, pki: Path, pod: str, folder: Path) -> str:
    """A peer's metrics, from its operations endpoint (which wants a client certificate of a TLS CA it trusts:
    the peer's own)."""
    address = target(layout, kubectl("--namespace", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"))
    context = ssl.create_default_context(cadata=(pki / "tls-root.pem").read_text())
    context.load_cert_chain(*own_identity(kubectl, pod, folder))
    context.check_hostname = False  # reached by its pod address, which its certificate does not name
    with urllib.request.urlopen(f"https://{address}:9443/metrics", context=context, timeout=15) as answer:
        return str(answer.read().decode())


def channel_heights(layout: Layout, kubectl: Kubectl, pki: Path, pod: str, folder: Path) -> dict[str, int]:
    """The channels a peer holds and their heights."""
    return {channel: int(height) for channel, height in HEIGHT.findall(metrics(layout, kubectl, pki, pod, folder))}


def test_every_peer_holds_the_channels_the_inventory_gives_it_and_no_other(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    for name, peer in PEERS.items():
        pod = f"{RELEASE}-{name}-0"
        deadline = time.monotonic() + 60  # a joined peer pulls block 0 from the orderers, then reports it
        while set(heights := channel_heights(layout, kubectl, pki, pod, tmp_path)) != set(peer["channels"]):
            assert time.monotonic() < deadline, f"{name} holds {sorted(heights)}, not {sorted(peer['channels'])}"
            time.sleep(2)
        assert all(height >= 1 for height in heights.values())


def test_a_hospital_peers_own_identity_cannot_see_the_patient_channels_topic(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    hospital_peer = own_identity(kubectl, f"{RELEASE}-peerxinqiao-0", tmp_path)
    error, replicas = topic_metadata(
        layout, kubectl, (pki / "tls-root.pem").read_bytes(), hospital_peer, "patientchannel"
    )
    assert (error, replicas) == (TOPIC_AUTHORIZATION_FAILED, [])
    orderer = own_identity(kubectl, f"{RELEASE}-orderer-0", tmp_path)
    assert topic_metadata(layout, kubectl, (pki / "tls-root.pem").read_bytes(), orderer, "patientchannel") == (0, [3])


def test_helm_test_finds_every_peer_healthy(release: str, layout: Layout) -> None:
    """The chart's own test hook, as an operator runs it after an install."""
    output = helm_test(layout, "peer-health")
    assert output.count("/healthz: OK") == len(PEERS)


def test_each_peer_knows_every_other_peer_of_its_channels_through_the_anchor_peers(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    """Gossip reaches across organisations only through the anchor peers each organisation's admin set."""
    for name, peer in PEERS.items():
        wanted = {
            channel: sum(channel in other["channels"] for other in PEERS.values()) - 1 for channel in peer["channels"]
        }
        deadline = time.monotonic() + 90  # gossip's membership rounds
        while (known := {channel: int(count) for channel, count in KNOWN.findall(
                metrics(layout, kubectl, pki, f"{RELEASE}-{name}-0", tmp_path))}) != wanted:  # fmt: skip
            assert time.monotonic() < deadline, f"{name} knows {known} peers by channel, not {wanted}"
            time.sleep(3)
