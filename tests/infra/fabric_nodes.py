"""Checks shared by Fabric's nodes (orderers and peers): the operations endpoint, the TLS-only gRPC port, and
the peers' ledger heights."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest

from ..waiting import wait_until
from .conftest import accepted, lab_host, plaintext_answer, tls_session

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_operations_endpoint(host: str, endpoint: str, tls_dir: str, admin_tls_dir: str, version: str) -> None:
    """/healthz answers OK to anyone over TLS; /metrics only to a client with a certificate (Prometheus
    scrapes with one; here the organisation admin's, on the node's host)."""
    # The node serves its certificate alone; its TLS CA's chain is on the host, public.
    context = ssl.create_default_context(cadata=lab_host(host).file(f"{tls_dir}/ca.crt").content_string)
    with urllib.request.urlopen(f"https://{endpoint}/healthz", context=context, timeout=10) as answer:
        assert json.load(answer)["status"] == "OK"
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(f"https://{endpoint}/metrics", context=context, timeout=10)
    script = (
        f"import ssl, urllib.request; context = ssl.create_default_context(cafile='{admin_tls_dir}/ca.crt'); "
        f"context.load_cert_chain('{admin_tls_dir}/server.crt', '{admin_tls_dir}/server.key'); "
        f"print(urllib.request.urlopen('https://{endpoint}/metrics', context=context).read().decode())"
    )
    metrics = lab_host(host).check_output(f'python3 -c "{script}"')
    assert f'fabric_version{{version="{version}"}}' in metrics


def check_grpc_port_needs_tls_and_a_client_certificate(host: str, address: str, port: int, tls_dir: str) -> None:
    # From the node's own host: the firewall opens some of these ports to some hosts only.
    assert b"\x00\x00" not in plaintext_answer(address, port, HTTP2_PREFACE, source=host)[:2]
    node = lab_host(host)
    assert accepted(tls_session(node, f"{address}:{port}", tls_dir))
    assert not accepted(tls_session(node, f"{address}:{port}", tls_dir, present_certificate=False))


def peer_height(peer: str, channel: str) -> int:
    """The peer's height on the channel; -1 while it has not joined it."""
    result = lab_host(peer).run(f"medledger-peer-admin height {channel}")
    return int(result.stdout) if result.rc == 0 else -1


def wait_until_every_peer_has(channel: str, block: int, peers: list[str]) -> None:
    """A commit is reported by the peer that was asked; the others commit the block when gossip or the
    orderer delivers it. Reading every peer, or endorsing on peers of several organisations after a write
    (each endorsement reads the state at its peer's height), is only meaningful once each holds the block."""
    found = wait_until(
        lambda: {peer: peer_height(peer, channel) for peer in peers},
        lambda heights: min(heights.values()) > block,
        seconds=60,
    )
    assert min(found.values()) > block, f"peers below block {block} of {channel} after 60 s: {found}"
