"""The peers: healthy, TLS with client certificates."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import deployed, role_var
from .fabric_nodes import check_grpc_port_needs_tls_and_a_client_certificate, check_operations_endpoint

pytestmark = pytest.mark.lab


def tls_dir(peer: str) -> str:
    return f"/etc/medledger/fabric/{deployed().hostvars[peer]['fabric_peer_name']}/tls"


def admin_tls_dir(peer: str) -> str:
    return f"/etc/medledger/fabric/admin-{str(deployed().hostvars[peer]['fabric_peer_organisation']).lower()}/tls"


def skip_unless_peer(inventory_host: str) -> None:
    if inventory_host not in deployed().members("peers"):
        pytest.skip(f"{inventory_host} runs no peer")


def test_health_and_metrics_endpoint(inventory_host: str, address: str, manifest: dict[str, Any]) -> None:
    skip_unless_peer(inventory_host)
    port = role_var("fabric_peer", "fabric_peer_operations_port", inventory_host)
    version = manifest["artifacts"]["fabric"]["version"]
    endpoint = f"{address}:{port}"
    check_operations_endpoint(inventory_host, endpoint, tls_dir(inventory_host), admin_tls_dir(inventory_host), version)


def test_peer_port_needs_tls_and_a_client_certificate(inventory_host: str, address: str) -> None:
    skip_unless_peer(inventory_host)
    port = int(role_var("fabric_peer", "fabric_peer_port", inventory_host))
    check_grpc_port_needs_tls_and_a_client_certificate(inventory_host, address, port, tls_dir(inventory_host))
