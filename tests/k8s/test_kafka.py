"""The Kafka brokers on the cluster: four, registered in ZooKeeper through TLS as the subject they share, one TLS
listener that wants a client certificate from the orderer organisation's TLS CA. Attacked the way an insider
would: another organisation's own TLS CA (the government's) gets no session, and an identity of the ordering
service's own TLS CA that is not the brokers' subject can neither delete a broker's registration in ZooKeeper
nor change the ACL that keeps it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from medledger_tools.k8s.layout import Layout
from tests.k8s.clients import (
    ALL,
    API_VERSIONS,
    KAFKA,
    KAFKA_PORT,
    NO_AUTH,
    READ,
    assert_another_organisations_identity_is_refused,
    client_identity,
    kafka_call,
    secret,
    zookeeper_acl,
    zookeeper_delete,
    zookeeper_session,
)
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl

pytestmark = pytest.mark.k8s

BROKERS = [f"{KAFKA}-{ordinal}" for ordinal in range(4)]


def api_versions(layout: Layout, kubectl: Kubectl, tls_root: bytes, identity: tuple[Path, Path]) -> int:
    """ApiVersions (v0) through the brokers' Service over mutual TLS: the correlation ID of the answer."""
    correlation, _body = kafka_call(layout, kubectl, tls_root, identity, api_key=API_VERSIONS, version=0, body=b"")
    return correlation


def test_every_broker_is_registered_in_zookeeper(release: str, kubectl: Kubectl) -> None:
    """Asked inside a broker, with that broker's own identity (a small heap beside the broker's own)."""
    script = (
        "printf 'security.protocol=SSL\\nssl.keystore.type=PEM\\nssl.keystore.location=/var/run/medledger/tls/"
        "keystore.pem\\nssl.truststore.type=PEM\\nssl.truststore.location=/var/run/medledger/tls/truststore.pem\\n'"
        " > /tmp/client.properties && JAVA_OPTS='-Xmx96m -XX:-UsePerfData -XX:TieredStopAtLevel=1' "
        f"kafka-broker-api-versions --bootstrap-server {KAFKA}:{KAFKA_PORT} --command-config /tmp/client.properties"
    )
    listing = kubectl("--namespace", NAMESPACE, "exec", BROKERS[0], "-c", "kafka", "--", "/bin/sh", "-c", script)
    assert sorted(int(found) for found in re.findall(r"\(id: (\d+) rack", listing)) == [0, 1, 2, 3]


def test_a_client_of_the_ordering_services_tls_ca_gets_an_answer(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    identity = client_identity(kubectl, "ca0", "tlsca-ca0", tmp_path)
    assert api_versions(layout, kubectl, (pki / "tls-root.pem").read_bytes(), identity) == 7


def test_another_organisations_tls_identity_is_refused_at_the_handshake(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    root = (pki / "tls-root.pem").read_bytes()
    assert_another_organisations_identity_is_refused(
        kubectl, tmp_path, lambda identity: api_versions(layout, kubectl, root, identity)
    )


def test_a_brokers_registration_belongs_to_the_brokers_subject_alone(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    """An insider of the ordering service (a certificate its TLS CA signed, as a ZooKeeper server's is) reads the
    ACL but may not delete broker 1's registration, which would take the broker out of the cluster."""
    identity = client_identity(kubectl, "ca0", "tlsca-ca0", tmp_path)
    with zookeeper_session(layout, kubectl, (pki / "tls-root.pem").read_bytes(), identity) as (stream, _session):
        acl = zookeeper_acl(stream, "/brokers/ids/1")
        assert (READ, "world", "anyone") in acl
        (owner,) = [entry for entry in acl if entry[1] == "x509"]
        assert owner[0] == ALL and f"CN={RELEASE}-kafka-zookeeper-client" in owner[2]
        assert zookeeper_delete(stream, "/brokers/ids/1") == NO_AUTH
    assert api_versions(layout, kubectl, (pki / "tls-root.pem").read_bytes(), identity) == 7


def test_each_broker_enrolled_its_own_name_and_the_shared_subject_once(release: str, kubectl: Kubectl) -> None:
    serials = set()
    for pod in BROKERS:
        own = x509.load_pem_x509_certificate(secret(kubectl, f"{pod}-tls")["tls.crt"])
        assert own.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == pod
        names = own.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"{pod}.{KAFKA}-headless.{NAMESPACE}.svc.cluster.local" in names.get_values_for_type(x509.DNSName)
        shared = x509.load_pem_x509_certificate(secret(kubectl, f"{pod}-zookeeper-client")["tls.crt"])
        assert shared.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"{KAFKA}-zookeeper-client"
        serials.add(shared.serial_number)
    assert len(serials) == len(BROKERS), "one enrolment of the shared subject per broker"
