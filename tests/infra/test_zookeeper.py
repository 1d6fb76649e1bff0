"""The ZooKeeper ensemble: one leader, TLS only, and a new leader when the leader stops."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from .conftest import deployed, lab_host, role_var

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


def wait_for(condition: Any, seconds: int = 90) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    current = states()
    while not condition(current) and time.monotonic() < deadline:
        time.sleep(2)
        current = states()
    return current


def one_leader(current: dict[str, str]) -> bool:
    return sorted(current.values()) == ["follower"] * (len(current) - 1) + ["leader"]


def test_ensemble_has_one_leader_and_followers() -> None:
    assert one_leader(states())


def test_client_port_speaks_tls_only(inventory_host: str, address: str) -> None:
    if inventory_host not in members():
        pytest.skip(f"{inventory_host} is no ZooKeeper member")
    port = int(role_var("zookeeper", "zookeeper_secure_client_port", inventory_host))
    with socket.create_connection((address, port), timeout=5) as plain:
        plain.sendall(b"ruok")
        plain.settimeout(5)
        try:
            answer = plain.recv(64)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert b"imok" not in answer
    assert probe_closed(address, 2181), "no plaintext client port"
    host = lab_host(inventory_host)
    tls = f"/etc/medledger/fabric/zookeeper{deployed().hostvars[inventory_host]['zookeeper_id']}/tls"
    handshake = host.run(
        f"echo | openssl s_client -connect {address}:{port} -CAfile /etc/medledger/pki/tls-root.pem "
        f"-cert {tls}/server.crt -key {tls}/server.key -verify_return_error"
    )
    assert "Verify return code: 0 (ok)" in handshake.stdout


def probe_closed(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return False
    except OSError:
        return True


def test_a_new_leader_is_elected_when_the_leader_stops() -> None:
    before = states()
    assert one_leader(before)
    leader = next(name for name, value in before.items() if value == "leader")
    lab_host(leader).check_output("systemctl stop zookeeper")
    try:
        after = wait_for(lambda current: sorted(current.values()) == ["down", "follower", "leader"])
        assert sorted(after.values()) == ["down", "follower", "leader"], json.dumps(after)
        assert after[leader] == "down"
    finally:
        lab_host(leader).check_output("systemctl start zookeeper")
    rejoined = wait_for(one_leader)
    assert one_leader(rejoined), json.dumps(rejoined)
    assert rejoined[leader] == "follower"
