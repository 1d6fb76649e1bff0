"""The orderers on the cluster, Kafka ordering: each enrolled its TLS identity and its MSP (role `orderer`) in its
pod, bootstrapped from the one genesis block the genesis Job made, and created the system channel's topic on the
brokers. Attacked the way an insider would: an identity of the ordering service's own TLS CA that is not an
orderer (as a ZooKeeper server's or a broker operator's tool's is) cannot even see a channel's topic, which is
the hole the VMs' review found (a third party's key reading the Patient Channel straight from Kafka)."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from medledger_tools.k8s.layout import Layout
from tests.k8s.clients import TOPIC_AUTHORIZATION_FAILED, client_identity, secret, topic_metadata
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl, target

pytestmark = pytest.mark.k8s

ORDERER = f"{RELEASE}-orderer"
ORDERERS = [f"{ORDERER}-{ordinal}" for ordinal in range(3)]
SYSTEM_CHANNEL = "systemchannel"


def own_identity(kubectl: Kubectl, pod: str, folder: Path) -> tuple[Path, Path]:
    """The TLS identity a pod stored (what its own process presents), the certificate with its issuing CA."""
    stored = secret(kubectl, f"{pod}-tls")
    certificate, key = folder / f"{pod}.crt", folder / f"{pod}.key"
    certificate.write_bytes(stored["tls.crt"] + stored["truststore.pem"])  # with its TLS CA: the root is trusted
    key.write_bytes(stored["tls.key"])
    key.chmod(0o600)
    return certificate, key


def started_its_chains(kubectl: Kubectl, pod: str, timeout: float = 180) -> None:
    """Bounded wait until the orderer has its Kafka producer and consumers for the system channel (asking /healthz
    before then crashes Fabric 2.5.9's orderer: see the chart's probes)."""
    deadline = time.monotonic() + timeout
    while "Start phase completed successfully" not in kubectl("--namespace", NAMESPACE, "logs", pod, "-c", "orderer"):
        assert time.monotonic() < deadline, f"{pod} has not started the system channel's chain in {timeout:.0f} s"
        time.sleep(2)


def test_every_orderer_is_healthy_and_the_system_channel_lives_on_three_brokers(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    for pod in ORDERERS:
        started_its_chains(kubectl, pod)
        address = target(layout, kubectl("--namespace", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"))
        context = ssl.create_default_context(
            cadata=tls_root.decode() + secret(kubectl, f"{pod}-tls")["truststore.pem"].decode()
        )
        context.check_hostname = False  # reached by its pod address, which its certificate does not name
        with urllib.request.urlopen(f"https://{address}:8443/healthz", context=context, timeout=15) as answer:
            assert json.loads(answer.read())["status"] == "OK"
    error, replicas = topic_metadata(layout, kubectl, tls_root, own_identity(kubectl, ORDERERS[0], tmp_path),
                                     SYSTEM_CHANNEL)  # fmt: skip
    assert (error, replicas) == (0, [3]), "one partition, three copies (the inventory's replication factor)"


def test_an_ordering_service_identity_that_is_no_orderer_cannot_see_a_channels_topic(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    insider = client_identity(kubectl, "ca0", "tlsca-ca0", tmp_path)
    error, replicas = topic_metadata(layout, kubectl, (pki / "tls-root.pem").read_bytes(), insider, SYSTEM_CHANNEL)
    assert (error, replicas) == (TOPIC_AUTHORIZATION_FAILED, [])


def test_each_orderer_signs_with_an_orderer_identity_of_its_organisations_ca(
    release: str, kubectl: Kubectl, pki: Path
) -> None:
    enrolment_root = x509.load_pem_x509_certificate((pki / "enrolment-root.pem").read_bytes())
    for pod in ORDERERS:
        msp = secret(kubectl, f"{pod}-msp")
        certificate = x509.load_pem_x509_certificate(msp["cert.pem"])
        ca = x509.load_pem_x509_certificate(msp["ca.pem"])
        certificate.verify_directly_issued_by(ca)
        ca.verify_directly_issued_by(enrolment_root)
        assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ca-orgorderer"
        units = [
            str(unit.value) for unit in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        ]
        assert "orderer" in units, f"{pod}: its role is the NodeOU `orderer` ({units})"
        tls = x509.load_pem_x509_certificate(secret(kubectl, f"{pod}-tls")["tls.crt"])
        names = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
        assert f"{pod}.{ORDERER}-headless.{NAMESPACE}.svc.cluster.local" in names
