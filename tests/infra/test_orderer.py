"""The orderers: healthy, TLS with client certificates, and serving the same chain."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import deployed, role_var
from .fabric_nodes import check_grpc_port_needs_tls_and_a_client_certificate, check_operations_endpoint
from .ordering import heights, ordered_channels, orderer_admin, orderers

pytestmark = pytest.mark.lab


def identity_dir(orderer: str) -> str:
    return f"/etc/medledger/fabric/{deployed().hostvars[orderer]['fabric_orderer_name']}/tls"


def test_health_and_metrics_endpoint(inventory_host: str, address: str, manifest: dict[str, Any]) -> None:
    if inventory_host not in orderers():
        pytest.skip(f"{inventory_host} runs no orderer")
    port = role_var("fabric_orderer", "fabric_orderer_operations_port", inventory_host)
    version = manifest["artifacts"]["fabric"]["version"]
    admin_tls = "/etc/medledger/fabric/admin-orgorderer/tls"
    check_operations_endpoint(inventory_host, f"{address}:{port}", identity_dir(inventory_host), admin_tls, version)


def test_client_port_needs_tls_and_a_client_certificate(inventory_host: str, address: str) -> None:
    if inventory_host not in orderers():
        pytest.skip(f"{inventory_host} runs no orderer")
    port = int(role_var("fabric_orderer", "fabric_orderer_port", inventory_host))
    check_grpc_port_needs_tls_and_a_client_certificate(inventory_host, address, port, identity_dir(inventory_host))


def test_every_orderer_serves_its_channels_at_one_height() -> None:
    for orderer in orderers():
        served = json.loads(orderer_admin(orderer, "channels"))
        names = [info["name"] for info in (served["channels"] or [])]
        if served["systemChannel"]:
            names.append(served["systemChannel"]["name"])
        assert sorted(names) == ordered_channels(), orderer
    for channel in ordered_channels():
        found = heights(channel)
        assert len(set(found.values())) == 1 and min(found.values()) >= 1, (channel, found)
