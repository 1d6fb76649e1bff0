"""Every manifest the umbrella renders from the paper's inventory, checked by the cluster's own API server
(server-side dry run with strict field validation): a field the API does not know, a wrong type or a missing
required field fails here, before any install."""

from __future__ import annotations

from pathlib import Path

import pytest

from medledger_tools.k8s.cluster import artifact_bin
from tests.k8s.umbrella import ARTIFACTS, Kubectl, run

pytestmark = pytest.mark.k8s

NAMESPACE = "medledger-dry-run"


def test_the_api_server_accepts_every_rendered_manifest(kubectl: Kubectl, values: Path) -> None:
    helm = str(artifact_bin(ARTIFACTS, "helm") / "helm")
    run(helm, "dependency", "build", "--skip-refresh", "helm/medledger")
    manifests = run(helm, "template", "paper", "helm/medledger", "--namespace", NAMESPACE, "--values", str(values))
    kubectl("create", "namespace", NAMESPACE)
    try:
        applied = kubectl("apply", "--dry-run=server", "--validate=strict", "--namespace", NAMESPACE,
                          "--filename=-", stdin=manifests)  # fmt: skip
    finally:
        kubectl("delete", "namespace", NAMESPACE, "--wait=false")
    kinds = {line.split("/", 1)[0] for line in applied.splitlines()}
    assert {"statefulset.apps", "job.batch", "configmap", "service", "role.rbac.authorization.k8s.io"} <= kinds
    assert all(line.endswith("(server dry run)") for line in applied.splitlines())
