"""The Kafka brokers: all registered, configured as Fabric's guide asks, TLS only, Fabric's topic replicated."""

from __future__ import annotations

import re
from functools import cache

import pytest

from .conftest import accepted, deployed, lab_host, plaintext_answer, port_closed, role_var, tls_session

pytestmark = pytest.mark.lab

# Kafka's ApiVersions request (v0, correlation ID 1) in plaintext; a plaintext broker would answer it,
# starting with the response's length and then the correlation ID.
API_VERSIONS_REQUEST = bytes.fromhex("0000000e00120000000000010004") + b"test"
CORRELATION_ID = bytes.fromhex("00000001")


def brokers() -> list[str]:
    return deployed().members("kafka")


def tool(name: str, broker: str, *args: str) -> str:
    """A Kafka admin tool run on `broker` against its own listener, with its own TLS identity."""
    values = deployed().hostvars[broker]
    port = role_var("kafka", "kafka_port", broker)
    command = (
        f"/opt/medledger/kafka/bin/{name} --bootstrap-server {values['ansible_host']}:{port} "
        f"--command-config /etc/medledger/kafka/client.properties {' '.join(args)}"
    )
    return str(lab_host(broker).check_output(command))


@cache
def broker_configuration(broker: str) -> str:
    """Every setting `broker` runs with, as it describes them; read once (a JVM start on the broker's host),
    since no test of this module changes them."""
    broker_id = deployed().hostvars[broker]["kafka_broker_id"]
    return tool("kafka-configs", broker, f"--entity-type brokers --entity-name {broker_id} --describe --all")


def test_every_broker_is_registered() -> None:
    listing = tool("kafka-broker-api-versions", brokers()[0])
    registered = sorted(int(found) for found in re.findall(r"\(id: (\d+) rack", listing))
    assert registered == sorted(int(deployed().hostvars[b]["kafka_broker_id"]) for b in brokers())


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("default.replication.factor", "medledger_kafka_replication_factor"),
        ("min.insync.replicas", "medledger_kafka_min_insync_replicas"),
        ("unclean.leader.election.enable", "false"),
        ("log.retention.ms", "-1"),
    ],
)
def test_brokers_run_with_fabrics_settings(setting: str, expected: str) -> None:
    value = str(deployed().global_var(expected, expected))
    for broker in brokers():
        described = broker_configuration(broker)
        assert re.search(rf"^\s*{re.escape(setting)}={re.escape(value)} ", described, re.MULTILINE), broker


def test_messages_larger_than_a_batch_fit() -> None:
    absolute = int(deployed().global_var("medledger_batch_absolute_max_bytes"))
    described = broker_configuration(brokers()[0])
    for setting in ("message.max.bytes", "replica.fetch.max.bytes"):
        found = re.search(rf"^\s*{re.escape(setting)}=(\d+) ", described, re.MULTILINE)
        assert found and int(found.group(1)) > absolute, setting


def test_fabrics_topic_is_replicated_and_in_sync() -> None:
    if deployed().global_var("medledger_consensus") != "kafka":
        pytest.skip("Raft ordering")
    channel = role_var("fabric_orderer", "fabric_orderer_system_channel", deployed().members("orderers")[0])
    described = tool("kafka-topics", brokers()[0], f"--describe --topic {channel}")
    replication = int(deployed().global_var("medledger_kafka_replication_factor"))
    assert f"ReplicationFactor: {replication}" in described
    in_sync = re.search(r"Isr: ([\d,]+)", described)
    assert in_sync and len(in_sync.group(1).split(",")) == replication, described


def test_listener_speaks_tls_with_client_certificates_only(inventory_host: str, address: str) -> None:
    if inventory_host not in brokers():
        pytest.skip(f"{inventory_host} runs no broker")
    port = int(role_var("kafka", "kafka_port", inventory_host))
    # The firewall opens the port to the ordering service's hosts only: ask from the broker's own host.
    assert plaintext_answer(address, port, API_VERSIONS_REQUEST, source=inventory_host)[4:8] != CORRELATION_ID
    assert port_closed(address, 9092), "no plaintext listener"
    host = lab_host(inventory_host)
    tls = f"/etc/medledger/fabric/kafka{deployed().hostvars[inventory_host]['kafka_broker_id']}/tls"
    assert accepted(tls_session(host, f"{address}:{port}", tls))
    assert not accepted(tls_session(host, f"{address}:{port}", tls, present_certificate=False))
