"""Kafka and ZooKeeper serve the ordering service only. Kafka holds every channel's transactions (the
`patientchannel` topic is the Patient Channel), so each attack here is one an insider could try with their
own organisation's keys: a third party from its own host, the government and a hospital from hosts the
firewall lets through. Each is refused, and ordering goes on."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from ..waiting import wait_until
from .conftest import accepted, deployed, lab_host, probe_from, role_var, tls_session
from .ordering import heights, kafka_ordering, level_at_least, orderers, system_channel, touch_config

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not kafka_ordering(), reason="Raft ordering runs no Kafka or ZooKeeper"),
]

PATIENT_CHANNEL = "patientchannel"
KAFKA_BIN = "/opt/medledger/kafka/bin"
IDENTITIES = "/etc/medledger/fabric"


def organisation_kind(host: str) -> str:
    return str(deployed().organisations[deployed().peer_organisation(host)]["kind"])


def peer_tls(host: str) -> str:
    return f"{IDENTITIES}/{deployed().hostvars[host]['fabric_peer_name']}/tls"


def endpoint(host: str, role: str, port_var: str) -> str:
    return f"{deployed().hostvars[host]['ansible_host']}:{role_var(role, port_var, host)}"


def brokers() -> list[str]:
    return deployed().members("kafka")


def ensemble() -> list[str]:
    return deployed().members("zookeeper")


def broker_host_with_peer_of(kind: str) -> str:
    """A broker's host (the firewall lets it reach Kafka and ZooKeeper) that runs a peer of that kind."""
    found = [h for h in brokers() if h in deployed().members("peers") and organisation_kind(h) == kind]
    if not found:
        pytest.skip(f"no broker host runs a {kind} peer in this inventory")
    return found[0]


@pytest.fixture(scope="module")
def hospital_client() -> Iterator[tuple[str, str]]:
    """Kafka and ZooKeeper client settings made of a hospital peer's own TLS identity, on its host (a
    broker's host: the firewall lets it through, and the hospitals' TLS CA is the ordering service's)."""
    host = broker_host_with_peer_of("hospital")
    folder = f"/root/attack-{secrets.token_hex(4)}"
    tls = peer_tls(host)
    machine = lab_host(host)
    machine.check_output(
        f"install -d -m 0700 {folder} && cat {tls}/server.key {tls}/server.crt > {folder}/keystore.pem && "
        f"chmod 0600 {folder}/keystore.pem && cp /etc/medledger/kafka/truststore.pem {folder}/"
    )
    stores = (
        f"ssl.keystore.type=PEM\nssl.keystore.location={folder}/keystore.pem\n"
        f"ssl.truststore.type=PEM\nssl.truststore.location={folder}/truststore.pem\n"
    )
    zookeeper = "".join(f"zookeeper.{line}\n" for line in stores.splitlines())
    machine.check_output(f"printf 'security.protocol=SSL\\n{stores}' > {folder}/kafka.properties")
    machine.check_output(
        "printf 'zookeeper.ssl.client.enable=true\\n"
        "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\\n"
        f"{zookeeper}' > {folder}/zookeeper.properties"
    )
    # The tools log their refusals through log4j: send them to the output the tests read.
    machine.check_output(
        f"cat > {folder}/log4j.properties <<'EOF'\n"
        "log4j.rootLogger=WARN, stderr\n"
        "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stderr.Target=System.err\n"
        "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stderr.layout.ConversionPattern=%p %c - %m%n\n"
        "EOF"
    )
    try:
        yield host, folder
    finally:
        machine.run(f"rm -rf {folder}")


def run_as_attacker(host: str, folder: str, command: str) -> Any:
    logging = f"JAVA_OPTS=-Dlog4j.configuration=file:{folder}/log4j.properties"
    return lab_host(host).run(f"{logging} timeout 90 {command} 2>&1")


def test_a_third_partys_host_reaches_neither_kafka_nor_zookeeper() -> None:
    third_party = next(h for h in deployed().members("peers") if organisation_kind(h) == "thirdparty")
    targets = [endpoint(h, "kafka", "kafka_port") for h in brokers()]
    targets += [endpoint(h, "zookeeper", "zookeeper_secure_client_port") for h in ensemble()]
    seen = {
        target: probe_from(third_party, target.rsplit(":", 1)[0], int(target.rsplit(":", 1)[1])) for target in targets
    }
    assert set(seen.values()) == {"filtered"}, seen


def test_another_organisations_tls_identity_is_refused_at_the_handshake() -> None:
    """The government's peer shares a host with a broker, so the firewall lets it through; but its TLS
    certificate is from another TLS CA than the ordering service's, which is all Kafka and ZooKeeper trust."""
    host = broker_host_with_peer_of("government")
    machine = lab_host(host)
    for target in (
        endpoint(host, "kafka", "kafka_port"),
        endpoint(ensemble()[0], "zookeeper", "zookeeper_secure_client_port"),
    ):
        session = tls_session(machine, target, peer_tls(host))
        assert not accepted(session), (target, session)
        assert "alert" in session or "error" in session.lower(), session


def test_a_hospital_peers_identity_can_neither_consume_produce_nor_delete_a_channels_topic(
    hospital_client: tuple[str, str],
) -> None:
    host, folder = hospital_client
    bootstrap = endpoint(host, "kafka", "kafka_port")
    consume = run_as_attacker(
        host,
        folder,
        f"{KAFKA_BIN}/kafka-console-consumer --bootstrap-server {bootstrap} "
        f"--consumer.config {folder}/kafka.properties --topic {PATIENT_CHANNEL} "
        "--partition 0 --offset earliest --max-messages 1 --timeout-ms 20000",
    )
    assert "TopicAuthorizationException" in consume.stdout, consume.stdout
    produce = run_as_attacker(
        host,
        folder,
        f"sh -c 'echo crash-the-orderers | {KAFKA_BIN}/kafka-console-producer --bootstrap-server {bootstrap} "
        f"--producer.config {folder}/kafka.properties --topic {PATIENT_CHANNEL} --request-required-acks all'",
    )
    assert "TopicAuthorizationException" in produce.stdout or "not authorized" in produce.stdout.lower(), produce.stdout
    delete = run_as_attacker(
        host,
        folder,
        f"{KAFKA_BIN}/kafka-topics --bootstrap-server {bootstrap} --command-config {folder}/kafka.properties "
        f"--delete --topic {PATIENT_CHANNEL}",
    )
    # Kafka does not even tell a principal without Describe that the topic exists.
    assert delete.rc != 0 and re.search(r"Authoriz|does not exist", delete.stdout), delete.stdout
    broker = brokers()[0]
    described = lab_host(broker).check_output(
        f"{KAFKA_BIN}/kafka-topics --bootstrap-server {endpoint(broker, 'kafka', 'kafka_port')} "
        f"--command-config /etc/medledger/kafka/client.properties --describe --topic {PATIENT_CHANNEL}"
    )
    assert f"Topic: {PATIENT_CHANNEL}" in described


def test_a_hospital_peers_identity_cannot_change_zookeeper(hospital_client: tuple[str, str]) -> None:
    host, folder = hospital_client
    connect = ",".join(endpoint(h, "zookeeper", "zookeeper_secure_client_port") for h in ensemble())
    shell = f"{KAFKA_BIN}/zookeeper-shell -server {connect} -zk-tls-config-file {folder}/zookeeper.properties"
    for command in ("create /medledger-attack x", "create /brokers/topics/medledger-attack x", "delete /controller"):
        answer = run_as_attacker(host, folder, f"{shell} {command}")
        assert "Insufficient permission" in answer.stdout, (command, answer.stdout)
    listing = run_as_attacker(host, folder, f"{shell} ls /")
    assert "medledger-attack" not in listing.stdout


def test_the_orderers_keep_ordering_through_kafka() -> None:
    channel = system_channel()
    target = max(heights(channel).values()) + 1
    touch_config(orderers()[0], channel)
    ordered = wait_until(lambda: heights(channel), level_at_least(target))
    assert level_at_least(target)(ordered), ordered
