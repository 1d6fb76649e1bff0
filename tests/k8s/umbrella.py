"""The umbrella chart installed once for the cluster's tests (the session's `release` fixture in conftest.py):
the operator's steps, and how the tests reach what it runs."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from medledger_tools.k8s.cluster import artifact_bin
from medledger_tools.k8s.layout import Layout
from medledger_tools.paths import REPO_ROOT

Kubectl = Callable[..., str]

NAMESPACE, RELEASE = "medledger", "paper"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", REPO_ROOT / "artifacts"))
CA_SERVERS = ("ca0", "ca1")


def target(layout: Layout, address: str) -> str:
    """The address, if it is the node's, loopback, or in the cluster's pod or service networks."""
    parsed = ipaddress.ip_address(address)
    if not (parsed == layout.node_address or parsed.is_loopback or parsed in layout.pod_cidr
            or parsed in layout.service_cidr):  # fmt: skip
        raise AssertionError(f"{address} is not one of the cluster's own addresses")
    return address


def run(*command: str, timeout: float = 900) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command[:3])}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def sign(layout: Layout, values: Path, pki: Path, *extra: str) -> str:
    """medledger-k8s-sign, as the operator runs it on the control node."""
    kubectl = artifact_bin(ARTIFACTS, "kubernetes") / "kubectl"
    return run("uv", "run", "--frozen", "medledger-k8s-sign", f"--values={values}", f"--pki-dir={pki}",
               f"--namespace={NAMESPACE}", f"--release={RELEASE}", f"--kubectl={kubectl}",
               f"--kubeconfig={layout.admin_kubeconfig}", *extra)  # fmt: skip


def service_address(kubectl: Kubectl, service: str) -> str:
    """A service's cluster address; `service` is its name without the release."""
    return kubectl("--namespace", NAMESPACE, "get", "service", f"{RELEASE}-{service}",
                   "-o", "jsonpath={.spec.clusterIP}")  # fmt: skip


def wait_for_service(layout: Layout, kubectl: Kubectl, service: str, port: int, timeout: float = 60) -> None:
    """kube-proxy rejects a service's connections until it has seen its ready endpoints: a bounded wait."""
    address = target(layout, service_address(kubectl, service))
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=5).close()
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def helm_test(layout: Layout, hook: str) -> str:
    """`helm test` of one hook (the pod <release>-HOOK), as an operator runs it after an install: its log, once it
    succeeded."""
    helm = str(artifact_bin(ARTIFACTS, "helm") / "helm")
    output = run(helm, f"--kubeconfig={layout.admin_kubeconfig}", "test", RELEASE, "--namespace", NAMESPACE, "--logs",
                 "--filter", f"name={RELEASE}-{hook}")  # fmt: skip
    assert "Phase:          Succeeded" in output
    return output


@contextmanager
def resolving_cluster_names(layout: Layout, kubectl: Kubectl) -> Iterator[None]:
    """While it lasts, this process resolves the release's services by the names their certificates carry
    (<release>-<service>.<namespace>.svc), as a pod does, to their cluster addresses, each checked to be the
    cluster's own."""
    resolve = socket.getaddrinfo
    suffix = f".{NAMESPACE}.svc"

    def in_cluster(host: Any, *arguments: Any, **options: Any) -> Any:
        if isinstance(host, str) and host.startswith(f"{RELEASE}-") and host.endswith(suffix):
            host = target(layout, service_address(kubectl, host.removesuffix(suffix).removeprefix(f"{RELEASE}-")))
        return resolve(host, *arguments, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", in_cluster)
        yield
