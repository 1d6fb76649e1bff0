"""The single-node cluster (make k8s-up): kubectl with the admin's kubeconfig, and the cluster's files.

Every address these tests reach is the node's (on this machine's loopback), a pod's or a service's on this
machine's own bridge: `target` refuses anything else before a byte is sent.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medledger_tools.k8s.cluster import artifact_bin
from medledger_tools.k8s.layout import Layout
from medledger_tools.paths import REPO_ROOT

Kubectl = Callable[..., str]


@pytest.fixture(scope="session")
def layout() -> Layout:
    layout = Layout()
    if not layout.admin_kubeconfig.exists():
        pytest.fail(f"no cluster: {layout.admin_kubeconfig} is missing (make k8s-up)")
    return layout


def target(layout: Layout, address: str) -> str:
    """The address, if it is the node's, loopback, or in the cluster's pod or service networks."""
    parsed = ipaddress.ip_address(address)
    if not (parsed == layout.node_address or parsed.is_loopback or parsed in layout.pod_cidr
            or parsed in layout.service_cidr):  # fmt: skip
        raise AssertionError(f"{address} is not one of the cluster's own addresses")
    return address


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
