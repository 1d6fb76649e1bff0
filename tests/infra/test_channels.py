"""The two channels: every peer on exactly its channels at one height, every channel's peers found through
discovery (gossip and anchor peers), the Patient Channel closed to third parties at the orderers and at
its peers, both to their admins and to their peers, its blocks closed to a member's clients (which use the
chaincode only) but not to the member's admin and peer, and no peer joining a channel that is not the
inventory's (medledger-peer-admin check-genesis)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

import pytest

from medledger_tools.lab_clients import Ledger
from medledger_tools.topology import admin_name

from ..waiting import wait_until
from .conftest import deployed, lab_host, role_var, run_module
from .ordering import orderers

pytestmark = pytest.mark.lab

FABRIC = "/opt/medledger/fabric"
IDENTITIES = "/etc/medledger/fabric"
PATIENT_CHANNEL = "patientchannel"


def peers() -> list[str]:
    return deployed().members("peers")


def organisation(peer: str) -> str:
    return str(deployed().hostvars[peer]["fabric_peer_organisation"])


def msp_id(org: str) -> str:
    return str(deployed().organisations[org]["msp_id"])


def tls_ca(org: str) -> str:
    """The organisation's TLS CA, as its verifying MSP on every peer and orderer host holds it."""
    return f"{IDENTITIES}/orgs/{org}/msp/tlsintermediatecerts/ca.pem"


def endpoint(host: str, role: str, port: str) -> str:
    return f"{deployed().hostvars[host]['ansible_host']}:{role_var(role, port, host)}"


def channel_peers(channel: str) -> list[str]:
    return [peer for peer in peers() if channel in deployed().peer_channels(peer)]


def identity_of(host: str, kind: str) -> str:
    """The host's organisation admin, or its peer."""
    return admin_name(organisation(host)) if kind == "admin" else str(deployed().hostvars[host]["fabric_peer_name"])


def identity_folder(identity: str) -> str:
    """An identity's folder on a host, holding msp/ and tls/: one the roles enrolled (a name), or a path."""
    return identity if identity.startswith("/") else f"{IDENTITIES}/{identity}"


def fabric_cli(host: str, identity: str, command: str, peer: str | None = None) -> Any:
    """A Fabric CLI on `host` as `identity` (its MSP and TLS folders there, see identity_folder), an identity
    of the host's organisation, towards `peer` if given."""
    tls = f"{identity_folder(identity)}/tls"
    env = {
        "FABRIC_CFG_PATH": f"{FABRIC}/config",
        "CORE_PEER_LOCALMSPID": msp_id(organisation(host)),
        "CORE_PEER_MSPCONFIGPATH": f"{identity_folder(identity)}/msp",
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_CLIENTAUTHREQUIRED": "true",
        "CORE_PEER_TLS_CLIENTCERT_FILE": f"{tls}/server.crt",
        "CORE_PEER_TLS_CLIENTKEY_FILE": f"{tls}/server.key",
    }
    if peer:
        env["CORE_PEER_ADDRESS"] = endpoint(peer, "fabric_peer", "fabric_peer_port")
        env["CORE_PEER_TLS_ROOTCERT_FILE"] = tls_ca(organisation(peer))
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return lab_host(host).run(f"env {exports} {FABRIC}/bin/{command}")


def fetch_patient_channel_block(host: str, identity: str, source: str) -> Any:
    """Ask an orderer, or a Patient Channel peer, for the channel's newest block."""
    fetch = f"peer channel fetch newest /tmp/medledger-test.block -c {PATIENT_CHANNEL}"
    if source == "peer":
        return fabric_cli(host, identity, fetch, peer=channel_peers(PATIENT_CHANNEL)[0])
    orderer_org = next(name for name, spec in deployed().organisations.items() if spec["kind"] == "orderer")
    tls = f"{identity_folder(identity)}/tls"
    flags = (
        f"-o {endpoint(orderers()[0], 'fabric_orderer', 'fabric_orderer_port')} --tls --cafile {tls_ca(orderer_org)} "
        f"--clientauth --certfile {tls}/server.crt --keyfile {tls}/server.key"
    )
    return fabric_cli(host, identity, f"{fetch} {flags}")


def peer_admin(peer: str, *args: str) -> str:
    return str(lab_host(peer).check_output("medledger-peer-admin " + " ".join(args))).strip()


def channel_file(peer: str, name: str) -> str:
    """A file of the peer host's channel folder: genesis blocks and the expected configurations."""
    return f"{role_var('fabric_peer', 'fabric_peer_config_dir', peer)}/channels/{name}"


def joined_channels(peer: str) -> list[str]:
    listing = peer_admin(peer, "channel", "list")
    return sorted(line.strip() for line in listing.split("joined:", 1)[1].splitlines() if line.strip())


def test_each_peer_is_on_exactly_its_channels(inventory_host: str) -> None:
    if inventory_host not in peers():
        pytest.skip(f"{inventory_host} runs no peer")
    assert joined_channels(inventory_host) == sorted(deployed().peer_channels(inventory_host))


@pytest.mark.parametrize("channel", sorted(deployed().channels))
def test_the_peers_of_a_channel_reach_one_height(channel: str) -> None:
    def read() -> dict[str, int]:
        return {peer: int(peer_admin(peer, "height", channel)) for peer in channel_peers(channel)}

    found = wait_until(read, lambda heights: len(set(heights.values())) == 1)
    # The genesis block and one anchor peer update per organisation.
    assert len(set(found.values())) == 1 and min(found.values()) > len(deployed().channels[channel]), found


@pytest.mark.parametrize("source", ["orderer", "peer"])
@pytest.mark.parametrize("kind", ["admin", "peer"])
def test_third_parties_get_no_patient_channel_blocks(kind: str, source: str) -> None:
    members = deployed().channels[PATIENT_CHANNEL]
    outsiders = [peer for peer in peers() if organisation(peer) not in members]
    assert outsiders
    for host in outsiders:
        refused = fetch_patient_channel_block(host, identity_of(host, kind), source)
        assert refused.rc != 0 and "FORBIDDEN" in refused.stderr, (host, refused.stderr)


@pytest.mark.parametrize("source", ["orderer", "peer"])
@pytest.mark.parametrize("kind", ["admin", "peer"])
def test_the_government_gets_patient_channel_blocks(kind: str, source: str) -> None:
    government = next(peer for peer in peers() if deployed().organisations[organisation(peer)]["kind"] == "government")
    served = fetch_patient_channel_block(government, identity_of(government, kind), source)
    assert served.rc == 0, served.stderr


@pytest.fixture(scope="module")
def patients_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A patient's client: an identity of the Patient Channel's hospital organisation, registered and
    enrolled by the test as the ledger tests' clients are (lab_clients), set up for the peer CLI on one of
    that organisation's Patient Channel peer hosts: the organisation's verifying MSP (with its NodeOUs) plus
    the client's certificate and key, and the client's TLS folder, in a private temporary folder that is
    removed afterwards. (host, identity folder there)."""
    members = deployed().channels[PATIENT_CHANNEL]
    hospital = next(org for org in members if deployed().organisations[org]["kind"] == "hospital")
    host = next(peer for peer in channel_peers(PATIENT_CHANNEL) if organisation(peer) == hospital)
    client = Ledger(deployed()).new_client(hospital, tmp_path_factory.mktemp("clients"), "pat")
    machine = lab_host(host)
    work = str(machine.check_output("mktemp -d /tmp/medledger-client.XXXXXX")).strip()  # 0700, root's
    try:
        enrolled, identity = f"{work}/enrolled", f"{work}/{client.name}"
        copy = {"src": f"{client.folder}/", "dest": f"{enrolled}/", "mode": "preserve", "directory_mode": "0700"}
        copied = run_module(host, "ansible.builtin.copy", copy)
        assert copied.returncode == 0, copied.stdout[-2000:]
        machine.check_output(
            f"mkdir -m 0700 {identity} && cp -r {IDENTITIES}/orgs/{hospital}/msp {identity}/msp && "
            f"cp -r {enrolled}/msp/signcerts {enrolled}/msp/keystore {identity}/msp/ && "
            f"cp -r {enrolled}/tls {identity}/tls"
        )
        yield host, identity
    finally:
        machine.run(f"rm -rf {shlex.quote(work)}")


@pytest.mark.parametrize("source", ["orderer", "peer"])
def test_a_patients_client_gets_no_patient_channel_blocks_and_its_organisations_admin_and_peer_do(
    patients_client: tuple[str, str], source: str
) -> None:
    """Clients use the chaincode only (evaluate, submit, commit status: test_ledger.py), so the chaincode's
    check of who reads what cannot be bypassed by reading blocks: an orderer and a peer refuse them to the
    patient's client (FORBIDDEN: not a Reader), and serve them, asked the same way from the same host, to
    the client's organisation's admin and peer."""
    host, client = patients_client
    refused = fetch_patient_channel_block(host, client, source)
    assert refused.rc != 0 and "FORBIDDEN" in refused.stderr, (host, refused.rc, refused.stderr)
    for kind in ("admin", "peer"):
        served = fetch_patient_channel_block(host, identity_of(host, kind), source)
        assert served.rc == 0, (host, kind, served.stderr)


@pytest.mark.parametrize("channel", sorted(deployed().channels))
def test_discovery_finds_every_peer_of_the_channel(channel: str) -> None:
    members = sorted(endpoint(peer, "fabric_peer", "fabric_peer_port") for peer in channel_peers(channel))
    asker = channel_peers(channel)[0]
    identity = admin_name(organisation(asker))
    msp, tls = f"{IDENTITIES}/{identity}/msp", f"{IDENTITIES}/{identity}/tls"
    query = (
        f"discover peers --channel {channel} --server {endpoint(asker, 'fabric_peer', 'fabric_peer_port')} "
        f"--peerTLSCA {tls_ca(organisation(asker))} --MSP {msp_id(organisation(asker))} "
        f"--userKey {msp}/keystore/key.pem --userCert {msp}/signcerts/cert.pem "
        f"--tlsCert {tls}/server.crt --tlsKey {tls}/server.key"
    )

    def discovered() -> list[str]:
        answer = fabric_cli(asker, identity, query)
        return sorted(str(peer["Endpoint"]) for peer in json.loads(answer.stdout or "[]")) if answer.rc == 0 else []

    found = wait_until(discovered, lambda endpoints: endpoints == members, seconds=90)
    assert found == members


def test_each_peers_channels_are_the_inventorys(inventory_host: str) -> None:
    """The genesis blocks the peers joined from pass the check, and so does each channel's configuration
    now: join on a peer that has joined checks the current configuration and changes nothing."""
    if inventory_host not in peers():
        pytest.skip(f"{inventory_host} runs no peer")
    for channel in deployed().peer_channels(inventory_host):
        block = channel_file(inventory_host, f"{channel}.block")
        assert peer_admin(inventory_host, "check-genesis", channel, block) == "matches the inventory"
        assert peer_admin(inventory_host, "join", channel, block) == "joined already"


# A block 0 as a third party's admin gets it by creating a channel first with itself as a member: with Kafka,
# the ordering service builds it from the consortium (every peer organisation) and the creator's choice of
# members; here, the block 0 of a channel that has a third party as a member (the Data Usage Channel: all
# three peer organisations, our policies) under another channel's name, re-encoded by configtxlator on the
# peer host. Only its members differ from the Patient Channel's.
REWRITE_CHANNEL = """
import json, sys
block = json.load(open(sys.argv[1]))
block["data"]["data"][0]["payload"]["header"]["channel_header"]["channel_id"] = sys.argv[2]
json.dump(block, open(sys.argv[3], "w"))
"""
RENAME_SPEC = """
import json, sys
spec = json.load(open(sys.argv[1]))
spec["channel"] = sys.argv[2]
json.dump(spec, open(sys.argv[3], "w"))
"""


def rogue_block(peer: str, work: str, source_channel: str, channel: str) -> str:
    """`source_channel`'s genesis block, from the peer host's channel folder, renamed `channel`, in `work`."""
    configtxlator = f"{FABRIC}/bin/configtxlator"
    decoded, renamed, target = (f"{work}/{channel}.{kind}" for kind in ("source.json", "json", "block"))
    host = lab_host(peer)
    source = channel_file(peer, f"{source_channel}.block")
    host.check_output(f"{configtxlator} proto_decode --type common.Block --input {source} --output {decoded}")
    host.check_output(f"python3 -c {shlex.quote(REWRITE_CHANNEL)} {decoded} {channel} {renamed}")
    host.check_output(f"{configtxlator} proto_encode --type common.Block --input {renamed} --output {target}")
    return target


def test_a_hospital_peer_refuses_a_channel_with_a_third_party_member() -> None:
    """Refused with one line naming the third party, before the peer is asked: its channels do not change."""
    members = deployed().channels[PATIENT_CHANNEL]
    # A channel with a third party among its members, and a hospital's peer on it: its block 0 is the rogue one.
    source, third_party = next(
        (channel, org)
        for channel, organisations in sorted(deployed().channels.items())
        for org in organisations
        if org not in members and deployed().organisations[org]["kind"] == "thirdparty"
    )
    hospital = next(
        peer for peer in channel_peers(source) if deployed().organisations[organisation(peer)]["kind"] == "hospital"
    )
    ours = ", ".join(sorted(msp_id(org) for org in members))
    naming = f"{msp_id(third_party)} is a member, the inventory's members are {ours}"
    rogue_channel = "roguechannel"
    host = lab_host(hospital)
    before = joined_channels(hospital)
    assert rogue_channel not in before
    work = str(host.check_output("mktemp -d /tmp/medledger-rogue-channel.XXXXXX")).strip()
    try:
        # check-genesis: the Patient Channel as the third party would have created it, against the expected
        # configuration the role wrote (the default SPEC).
        block = rogue_block(hospital, work, source, PATIENT_CHANNEL)
        refused = host.run(f"medledger-peer-admin check-genesis {PATIENT_CHANNEL} {block}")
        assert refused.rc != 0, refused.stdout
        reason = refused.stderr.strip()
        assert "\n" not in reason, reason
        assert reason == f"{PATIENT_CHANNEL}: block 0 ({block}) does not match the inventory: {naming}"

        # join: a channel this peer has not joined, expected to have the Patient Channel's members.
        spec = f"{work}/{rogue_channel}.expected.json"
        expected = channel_file(hospital, f"{PATIENT_CHANNEL}.expected.json")
        host.check_output(f"python3 -c {shlex.quote(RENAME_SPEC)} {expected} {rogue_channel} {spec}")
        block = rogue_block(hospital, work, source, rogue_channel)
        refused = host.run(f"medledger-peer-admin join {rogue_channel} {block} {spec}")
        assert refused.rc != 0, refused.stdout
        reason = refused.stderr.strip()
        assert "\n" not in reason, reason
        assert reason == f"{rogue_channel}: not joined: block 0 ({block}) does not match the inventory: {naming}"
        assert joined_channels(hospital) == before
    finally:
        host.run(f"rm -rf {shlex.quote(work)}")
