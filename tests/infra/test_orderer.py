"""The orderers: healthy, TLS with client certificates, and serving the same chain."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from .conftest import accepted, deployed, lab_host, plaintext_answer, role_var, tls_session
from .ordering import heights, ordered_channels, orderer_admin, orderers

pytestmark = pytest.mark.lab

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def identity_dir(orderer: str) -> str:
    return f"/etc/medledger/fabric/{deployed().hostvars[orderer]['fabric_orderer_name']}/tls"


def test_health_and_metrics_endpoint(inventory_host: str, address: str, manifest: dict[str, Any]) -> None:
    if inventory_host not in orderers():
        pytest.skip(f"{inventory_host} runs no orderer")
    port = role_var("fabric_orderer", "fabric_orderer_operations_port", inventory_host)
    # The orderer serves its certificate alone; its TLS CA's chain is on the host, public.
    chain = lab_host(inventory_host).file(f"{identity_dir(inventory_host)}/ca.crt").content_string
    context = ssl.create_default_context(cadata=chain)
    with urllib.request.urlopen(f"https://{address}:{port}/healthz", context=context, timeout=10) as answer:
        assert json.load(answer)["status"] == "OK"
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(f"https://{address}:{port}/metrics", context=context, timeout=10)
    # Prometheus scrapes with a client certificate: here the orderer organisation admin's.
    admin_tls = "/etc/medledger/fabric/admin-orgorderer/tls"
    script = (
        f"import ssl, urllib.request; context = ssl.create_default_context(cafile='{admin_tls}/ca.crt'); "
        f"context.load_cert_chain('{admin_tls}/server.crt', '{admin_tls}/server.key'); "
        f"print(urllib.request.urlopen('https://{address}:{port}/metrics', context=context).read().decode())"
    )
    metrics = lab_host(inventory_host).check_output(f'python3 -c "{script}"')
    assert f'fabric_version{{version="{manifest["artifacts"]["fabric"]["version"]}"}}' in metrics


def test_client_port_needs_tls_and_a_client_certificate(inventory_host: str, address: str) -> None:
    if inventory_host not in orderers():
        pytest.skip(f"{inventory_host} runs no orderer")
    port = int(role_var("fabric_orderer", "fabric_orderer_port", inventory_host))
    assert b"\x00\x00" not in plaintext_answer(address, port, HTTP2_PREFACE)[:2]
    host = lab_host(inventory_host)
    assert accepted(tls_session(host, f"{address}:{port}", identity_dir(inventory_host)))
    assert not accepted(tls_session(host, f"{address}:{port}", identity_dir(inventory_host), present_certificate=False))


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
