"""The ZooKeeper ensemble on the cluster: three servers in a quorum over TLS, each with the identity it enrolled in
its pod from the orderer organisation's TLS CA (registered by that CA server's registration Job). Attacked the way
an insider would: a client certificate from another organisation's own TLS CA (the government's, whose key its CA
server holds) is refused at the handshake, where one from the ordering service's TLS CA gets a session."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from medledger_tools.k8s.layout import Layout
from tests.k8s.clients import (
    ZOOKEEPER,
    assert_another_organisations_identity_is_refused,
    client_identity,
    secret,
    zookeeper_session,
)
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl

pytestmark = pytest.mark.k8s

PODS = [f"{ZOOKEEPER}-{ordinal}" for ordinal in range(3)]


def server_state(kubectl: Kubectl, pod: str) -> str:
    """What the server's AdminServer (on the pod's loopback) says it is: leader, follower, or looking."""
    script = ("exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /commands/stat HTTP/1.0\\r\\n\\r\\n' >&3 "
              "&& sed '1,/^\\r$/d' <&3")  # fmt: skip
    answer = kubectl("--namespace", NAMESPACE, "exec", pod, "-c", "zookeeper", "--", "/bin/bash", "-c", script)
    return str(json.loads(answer)["server_stats"]["server_state"])


def wait_for_replacement(kubectl: Kubectl, pod: str, old_uid: str, timeout: float = 300) -> None:
    """Until the StatefulSet's new pod of that name is Ready (ready means in a quorum: its readiness probe)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = kubectl("--namespace", NAMESPACE, "get", "pod", pod, "-o", "json", "--ignore-not-found")
        state = json.loads(answer) if answer.strip() else {}
        conditions = state.get("status", {}).get("conditions", [])
        if (
            state
            and state["metadata"]["uid"] != old_uid
            and {"type": "Ready", "status": "True"}
            in [{"type": item["type"], "status": item["status"]} for item in conditions]
        ):
            return
        time.sleep(2)
    raise AssertionError(f"{pod} was not replaced and ready within {timeout:.0f} s")


def session(layout: Layout, kubectl: Kubectl, tls_root: bytes, identity: tuple[Path, Path]) -> int:
    with zookeeper_session(layout, kubectl, tls_root, identity) as (_stream, session_id):
        return session_id


def test_the_ensemble_elects_one_leader_over_tls(release: str, kubectl: Kubectl) -> None:
    assert sorted(server_state(kubectl, pod) for pod in PODS) == ["follower", "follower", "leader"]


def test_a_client_of_the_ordering_services_tls_ca_gets_a_session(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    identity = client_identity(kubectl, "ca0", "tlsca-ca0", tmp_path)
    assert session(layout, kubectl, (pki / "tls-root.pem").read_bytes(), identity) != 0


def test_another_organisations_tls_identity_is_refused_at_the_handshake(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    root = (pki / "tls-root.pem").read_bytes()
    assert_another_organisations_identity_is_refused(
        kubectl, tmp_path, lambda identity: session(layout, kubectl, root, identity)
    )


def test_each_server_enrolled_its_own_name_and_trusts_its_tls_ca_alone(release: str, kubectl: Kubectl) -> None:
    for pod in PODS:
        stored = secret(kubectl, f"{pod}-tls")
        certificate = x509.load_pem_x509_certificate(stored["tls.crt"])
        assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == pod
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"{pod}.{ZOOKEEPER}-headless.{NAMESPACE}.svc.cluster.local" in names.get_values_for_type(x509.DNSName)
        trusted = x509.load_pem_x509_certificate(stored["truststore.pem"])
        assert trusted.subject == certificate.issuer
        assert trusted.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "tlsca-ca0"
        assert trusted.issuer != trusted.subject, "the intermediate, not the root every organisation shares"


def test_the_servers_account_reads_neither_the_registrar_nor_the_cas_keys(release: str, kubectl: Kubectl) -> None:
    account = f"--as=system:serviceaccount:{NAMESPACE}:{ZOOKEEPER}"
    for verb, resource in (
        ("get", f"secret/{RELEASE}-fabric-ca-ca0-registrar"),
        ("get", f"secret/{NAMESPACE}-{RELEASE}-fabric-ca-ca0-tlsca-ca0"),
        ("list", "secrets"),
    ):
        answer = kubectl("--namespace", NAMESPACE, "auth", "can-i", verb, resource, account, check=False)
        assert answer.strip().startswith("no"), f"{verb} {resource}: {answer}"
    own = kubectl("--namespace", NAMESPACE, "auth", "can-i", "get", f"secret/{PODS[0]}-tls", account, check=False)
    assert own.strip() == "yes"


def test_a_restarted_server_restores_its_identity_and_rejoins(release: str, kubectl: Kubectl) -> None:
    """The CA allows one enrolment per identity: a restart must come back with the identity it stored."""
    pod = PODS[1]
    stored = secret(kubectl, f"{pod}-tls")["tls.crt"]
    uid = kubectl("--namespace", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.metadata.uid}")
    kubectl("--namespace", NAMESPACE, "delete", "pod", pod, "--wait=true")
    wait_for_replacement(kubectl, pod, uid)
    in_pod = kubectl("--namespace", NAMESPACE, "exec", pod, "-c", "zookeeper", "--", "cat",
                     "/var/run/medledger/tls/tls.crt")  # fmt: skip
    assert in_pod.encode() == stored
    assert sorted(server_state(kubectl, pod) for pod in PODS) == ["follower", "follower", "leader"]
