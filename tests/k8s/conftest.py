"""The single-node cluster (make k8s-up): kubectl with the admin's kubeconfig, and the cluster's files.

Every address these tests reach is the node's (on this machine's loopback), a pod's or a service's on this
machine's own bridge: `target` refuses anything else before a byte is sent.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from medledger_tools import helm_values, topology
from medledger_tools.k8s.cluster import artifact_bin
from medledger_tools.k8s.layout import Layout
from medledger_tools.paths import REPO_ROOT
from tests.k8s.umbrella import (
    ARTIFACTS,
    CA_SERVERS,
    NAMESPACE,
    RELEASE,
    Kubectl,
    resolving_cluster_names,
    run,
    sign,
    target,
    wait_for_service,
)

__all__ = ["Kubectl", "target"]


@pytest.fixture(scope="session")
def layout() -> Layout:
    layout = Layout()
    if not layout.admin_kubeconfig.exists():
        pytest.fail(f"no cluster: {layout.admin_kubeconfig} is missing (make k8s-up)")
    return layout


@pytest.fixture(scope="session")
def kubectl(layout: Layout) -> Kubectl:
    binary = artifact_bin(Path(os.environ.get("ARTIFACTS_DIR", REPO_ROOT / "artifacts")), "kubernetes") / "kubectl"

    def run(*arguments: str, check: bool = True, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(binary), f"--kubeconfig={layout.admin_kubeconfig}", *arguments],
            input=stdin, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(arguments)}: {result.stderr.strip()}")
        return result.stdout if check else result.stdout + result.stderr

    return run


@pytest.fixture(scope="session")
def toolbox_image(kubectl: Kubectl) -> str:
    """Debian's static busybox (nslookup, nc), imported by `medledger-k8s up`."""
    node = json.loads(kubectl("get", "node", "-o", "json"))["items"][0]
    names = [name for image in node["status"]["images"] for name in image["names"]]
    (image,) = [str(name) for name in names if name.startswith("medledger.local/toolbox:")]
    return image


@pytest.fixture
def run_in_pod(kubectl: Kubectl, toolbox_image: str) -> Callable[[str], str]:
    """Run a shell line in a fresh toolbox pod; its output (the pod is removed)."""

    def run(script: str) -> str:
        name = f"probe-{uuid.uuid4().hex[:8]}"
        overrides: dict[str, Any] = {"spec": {"securityContext": {"runAsNonRoot": True}}}
        return kubectl(
            "run", name, "--rm", "--attach", "--restart=Never", f"--image={toolbox_image}",
            "--image-pull-policy=Never", f"--overrides={json.dumps(overrides)}", "--pod-running-timeout=90s",
            "--command", "--", "/bin/busybox", "sh", "-c", script, check=False,
        )  # fmt: skip

    return run


def tls_context(layout: Layout, ca: str, client: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(layout.pki_file(f"{ca}.crt")))
    if client is not None:
        context.load_cert_chain(layout.pki_file(f"{client}.crt"), layout.pki_file(f"{client}.key"))
    return context


@pytest.fixture(scope="session")
def values(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("values") / "paper-values.yaml"
    path.write_text(yaml.safe_dump(helm_values.render(topology.load(str(REPO_ROOT / "inventories" / "paper")))))
    return path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Offline roots of the tests' own (roles/pki_root through playbooks/roots.yml), made afresh each run."""
    folder = tmp_path_factory.mktemp("pki")
    run("uv", "run", "--frozen", "ansible-playbook", "-i", "inventories/paper", "playbooks/roots.yml",
        "-e", f"medledger_pki_dir={folder}")  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def release(layout: Layout, kubectl: Kubectl, values: Path, pki: Path) -> Iterator[str]:
    """The umbrella installed as an operator does (images, helm install, medledger-k8s-sign), the CA servers
    ready, the registrations made, the ZooKeeper ensemble in a quorum, the brokers listening, the orderers
    serving, every peer in its channels, the chaincode committed and served, the services answering;
    uninstalled afterwards, unless the cluster goes next (MEDLEDGER_K8S_DISPOSABLE=1, make k8s-check)."""
    helm = str(artifact_bin(ARTIFACTS, "helm") / "helm")
    kubeconfig = f"--kubeconfig={layout.admin_kubeconfig}"
    run(
        "uv",
        "run",
        "--frozen",
        "medledger-k8s",
        "images",
        "fabric-ca",
        "services",
        "zookeeper",
        "kafka",
        "fabric",
        "chaincode",
        "postgresql",
        "seaweedfs",
    )
    run(helm, "dependency", "build", "--skip-refresh", "helm/medledger")
    run(helm, kubeconfig, "install", RELEASE, "helm/medledger", "--namespace", NAMESPACE, "--create-namespace",
        "--values", str(values))  # fmt: skip
    try:
        sign(layout, values, pki, "--wait=300")
        for server in CA_SERVERS:
            kubectl("--namespace", NAMESPACE, "rollout", "status", f"statefulset/{RELEASE}-fabric-ca-{server}",
                    "--timeout=300s")  # fmt: skip
            wait_for_service(layout, kubectl, f"fabric-ca-{server}", 7054)
        kubectl("--namespace", NAMESPACE, "wait", "--for=condition=complete", "job",
                "--selector=app.kubernetes.io/component=ca0-register", "--timeout=300s")  # fmt: skip
        for statefulset in ("zookeeper", "kafka", "orderer"):
            kubectl("--namespace", NAMESPACE, "rollout", "status", f"statefulset/{RELEASE}-{statefulset}",
                    "--timeout=300s")  # fmt: skip
        # Each peer organisation's channel Job (its channels created, its peers joined) and chaincode Job (the
        # chaincode installed, approved and committed), and the chaincode servers.
        kubectl("--namespace", NAMESPACE, "wait", "--for=condition=complete", "job",
                "--selector=app.kubernetes.io/name=peer", "--timeout=600s")  # fmt: skip
        kubectl("--namespace", NAMESPACE, "wait", "--for=condition=available", "deployment",
                "--selector=app.kubernetes.io/name=chaincode", "--timeout=300s")  # fmt: skip
        # The services with charts, once their databases and stores answer.
        for service in ("storage", "registry", "hospital-manager", "sharing-proxy"):
            kubectl("--namespace", NAMESPACE, "wait", "--for=condition=available", "deployment",
                    f"--selector=app.kubernetes.io/name={service}", "--timeout=300s")  # fmt: skip
        yield RELEASE
    finally:
        # make k8s-check removes the whole cluster next: uninstalling first would only cost it a minute.
        if os.environ.get("MEDLEDGER_K8S_DISPOSABLE") != "1":
            uninstall(helm, kubeconfig, kubectl)


def uninstall(helm: str, kubeconfig: str, kubectl: Kubectl) -> None:
    run(helm, kubeconfig, "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    kubectl("delete", "namespace", NAMESPACE, "--wait=true")
    for request in json.loads(kubectl("get", "certificatesigningrequests", "-o", "json"))["items"]:
        if request["metadata"]["name"].startswith(f"{NAMESPACE}-{RELEASE}-"):
            kubectl("delete", "certificatesigningrequest", request["metadata"]["name"])


@pytest.fixture
def cluster_names(layout: Layout, kubectl: Kubectl) -> Iterator[None]:
    """This process resolves the release's services by the names their certificates carry, as a pod does
    (umbrella.resolving_cluster_names), for the test."""
    with resolving_cluster_names(layout, kubectl):
        yield
