"""The ZooKeeper ensemble: one leader, TLS only, and a new leader when the leader stops."""

from __future__ import annotations

import json

import pytest

from ..waiting import wait_until
from .conftest import accepted, deployed, lab_host, plaintext_answer, port_closed, role_var, tls_session
from .ordering import heights, kafka_ordering, level_at_least, orderers, system_channel, touch_config

pytestmark = pytest.mark.lab


def members() -> list[str]:
    return deployed().members("zookeeper")


def state(name: str) -> str:
    """leader, follower, or what the member says instead (e.g. not serving)."""
    port = role_var("zookeeper", "zookeeper_admin_port", name)
    script = (
        "import json, urllib.request; print(json.load(urllib.request.urlopen("
        f"'http://127.0.0.1:{port}/commands/stat', timeout=3))['server_stats']['server_state'])"
    )
    result = lab_host(name).run(f'python3 -c "{script}"')
    return result.stdout.strip() if result.rc == 0 else "down"


def states() -> dict[str, str]:
    return {name: state(name) for name in members()}


def one_leader(current: dict[str, str]) -> bool:
    return sorted(current.values()) == ["follower"] * (len(current) - 1) + ["leader"]


def test_ensemble_has_one_leader_and_followers() -> None:
    assert one_leader(states())


def test_client_port_speaks_tls_only(inventory_host: str, address: str) -> None:
    if inventory_host not in members():
        pytest.skip(f"{inventory_host} is no ZooKeeper member")
    port = int(role_var("zookeeper", "zookeeper_secure_client_port", inventory_host))
    # The firewall opens the port to the brokers' hosts only; a member's host is one of them in the paper.
    source = next(iter(set(deployed().members("kafka")) & {inventory_host}), deployed().members("kafka")[0])
    assert b"imok" not in plaintext_answer(address, port, b"ruok", source=source)
    assert port_closed(address, 2181), "no plaintext client port"
    tls = f"/etc/medledger/fabric/zookeeper{deployed().hostvars[inventory_host]['zookeeper_id']}/tls"
    host = lab_host(inventory_host)
    assert accepted(tls_session(host, f"{address}:{port}", tls))
    assert not accepted(tls_session(host, f"{address}:{port}", tls, present_certificate=False))


def test_a_new_leader_is_elected_and_ordering_continues_when_the_leader_stops() -> None:
    before = states()
    assert one_leader(before)
    leader = next(name for name, value in before.items() if value == "leader")
    lab_host(leader).check_output("systemctl stop zookeeper")
    try:
        after = wait_until(states, lambda current: sorted(current.values()) == ["down", "follower", "leader"], 90)
        assert sorted(after.values()) == ["down", "follower", "leader"], json.dumps(after)
        assert after[leader] == "down"
        if kafka_ordering():
            channel = system_channel()
            target = max(heights(channel).values()) + 1
            touch_config(orderers()[0], channel)
            ordered = wait_until(lambda: heights(channel), level_at_least(target))
            assert level_at_least(target)(ordered), ordered
    finally:
        lab_host(leader).check_output("systemctl start zookeeper")
    rejoined = wait_until(states, one_leader, 90)
    assert one_leader(rejoined), json.dumps(rejoined)
    assert rejoined[leader] == "follower"
