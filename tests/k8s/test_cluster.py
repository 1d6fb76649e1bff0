"""The cluster make k8s-up builds: our release, working pod networking and DNS, and every port closed to
whoever holds no certificate of the right CA, including the cluster's own other components."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

import pytest

from medledger_tools.k8s.layout import KUBERNETES_VERSION, Layout
from tests.k8s.conftest import Kubectl, target, tls_context

pytestmark = pytest.mark.k8s


def get(url: str, context: ssl.SSLContext) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as answer:  # noqa: S310 (checked by target)
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_node_is_ready_and_runs_the_release_we_built(kubectl: Kubectl) -> None:
    node = json.loads(kubectl("get", "node", "-o", "json"))["items"][0]
    ready = {condition["type"]: condition["status"] for condition in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{KUBERNETES_VERSION}"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://1.6")
    server = json.loads(kubectl("version", "-o", "json"))["serverVersion"]["gitVersion"]
    assert server == f"v{KUBERNETES_VERSION}"


def test_a_pod_resolves_the_api_service_and_reaches_it(layout: Layout, run_in_pod: Callable[[str], str]) -> None:
    name = f"kubernetes.default.svc.{layout.cluster_domain}"
    output = run_in_pod(f"busybox nslookup {name} && busybox nc -w 5 {name} 443 </dev/null && echo REACHED")
    assert f"Address: {layout.kubernetes_service}" in output, output
    assert "REACHED" in output, output


def test_the_api_server_refuses_no_certificate_and_the_etcd_clients(layout: Layout) -> None:
    url = f"https://{target(layout, str(layout.node_address))}:6443/api/v1/namespaces"
    assert get(url, tls_context(layout, "ca", "admin")) == 200
    assert get(url, tls_context(layout, "ca", None)) == 401, "anonymous requests are refused"
    # The API server's own client certificate for etcd comes from etcd's CA: it is nobody to the API.
    assert get(url, tls_context(layout, "ca", "apiserver-etcd-client")) == 401


def test_etcd_answers_only_the_api_servers_certificate(layout: Layout) -> None:
    url = f"https://{target(layout, '127.0.0.1')}:2379/health"
    assert get(url, tls_context(layout, "etcd-ca", "apiserver-etcd-client")) == 200
    for client in (None, "admin"):
        # The cluster admin's certificate (the Kubernetes CA) does not open etcd.
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            get(url, tls_context(layout, "etcd-ca", client))


def test_the_kubelet_refuses_anonymous_requests_and_other_components(layout: Layout) -> None:
    url = f"https://{target(layout, str(layout.node_address))}:10250/pods"
    assert get(url, tls_context(layout, "ca", "apiserver-kubelet-client")) == 200
    assert get(url, tls_context(layout, "ca", None)) == 401
    assert get(url, tls_context(layout, "ca", "kube-proxy")) == 403, "kube-proxy may not read the node's pods"


def test_a_secret_is_stored_encrypted_in_etcd(layout: Layout, kubectl: Kubectl) -> None:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    kubectl("create", "secret", "generic", name, "--from-literal=key=medledger-plaintext-marker")
    try:
        key = base64.b64encode(f"/registry/secrets/default/{name}".encode()).decode()
        request = urllib.request.Request(
            f"https://{target(layout, '127.0.0.1')}:2379/v3/kv/range",
            data=json.dumps({"key": key}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(  # noqa: S310 (checked by target)
            request, timeout=10, context=tls_context(layout, "etcd-ca", "apiserver-etcd-client")
        ) as answer:
            (stored,) = json.loads(answer.read())["kvs"]
        value = base64.b64decode(stored["value"])
        assert value.startswith(b"k8s:enc:secretbox:v1:key1:")
        assert b"medledger-plaintext-marker" not in value
    finally:
        kubectl("delete", "secret", name)
