"""Fabric CA servers: TLS only, intermediates of the offline roots, keys private to the service user."""

from __future__ import annotations

import base64
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from medledger_tools.topology import ca_authorities

from .conftest import controller_var, deployed, https_get, readable_by, role_var, service_user, service_users

pytestmark = pytest.mark.lab


def ca_hosts() -> list[str]:
    return deployed().members("cas")


def authorities(inventory_host: str) -> list[dict[str, str]]:
    server = deployed().hostvars[inventory_host]["fabric_ca_name"]
    return ca_authorities(deployed().global_var("medledger_organisations"), server)


@pytest.fixture
def ca_host(inventory_host: str) -> str:
    if inventory_host not in ca_hosts():
        pytest.skip(f"{inventory_host} runs no CA")
    return inventory_host


@pytest.fixture(scope="module")
def pki_dir() -> Path:
    return Path(controller_var("medledger_pki_dir"))


def test_server_active_and_enabled(host: Any, ca_host: str) -> None:
    service = host.service("fabric-ca-server")
    assert service.is_running and service.is_enabled


def test_plaintext_is_refused(ca_host: str, address: str) -> None:
    port = int(role_var("fabric_ca", "fabric_ca_port", ca_host))
    with socket.create_connection((address, port), timeout=5) as plain:
        plain.sendall(b"GET /api/v1/cainfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = plain.recv(4096)
    assert answer.startswith(b"HTTP/1.0 400")
    assert b"Client sent an HTTP request to an HTTPS server" in answer


def test_each_ca_serves_an_intermediate_of_its_offline_root(
    ca_host: str, address: str, pki_dir: Path, tmp_path: Path
) -> None:
    port = int(role_var("fabric_ca", "fabric_ca_port", ca_host))
    for authority in authorities(ca_host):
        info = https_get(address, port, f"/api/v1/cainfo?ca={authority['name']}", pki_dir / "tls-root.pem", ca_host)
        assert info["result"]["CAName"] == authority["name"]
        chain = base64.b64decode(info["result"]["CAChain"]).decode()
        intermediate = tmp_path / f"{authority['name']}.pem"
        intermediate.write_text(chain.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
        own_root = pki_dir / f"{authority['root']}-root.pem"
        other_root = pki_dir / ("tls-root.pem" if authority["root"] == "enrolment" else "enrolment-root.pem")
        verify = ["openssl", "verify", "-x509_strict", "-purpose", "any", "-CAfile"]
        assert (
            subprocess.run([*verify, str(own_root), str(intermediate)], capture_output=True, check=False).returncode
            == 0
        )
        assert (
            subprocess.run([*verify, str(other_root), str(intermediate)], capture_output=True, check=False).returncode
            != 0
        )
        text = subprocess.run(
            ["openssl", "x509", "-noout", "-text", "-in", str(intermediate)], capture_output=True, text=True, check=True
        ).stdout
        assert "CA:TRUE, pathlen:0" in text
        assert "Certificate Sign, CRL Sign" in text


def ca_private_keys(host: Any, ca_host: str) -> list[str]:
    home = role_var("fabric_ca", "fabric_ca_home", ca_host)
    # Every keystore file counts, the Idemix issuer keys Fabric CA makes beside the imported CA keys too.
    keys = host.check_output(f"find {home} -type f \\( -name key.pem -o -path '*/keystore/*' \\)").split()
    assert len(keys) >= 2 * len(authorities(ca_host)) + 1  # each CA's key and its keystore copy, the TLS key
    return sorted(keys)


def test_private_keys_belong_to_the_service_user_only(host: Any, ca_host: str) -> None:
    for key in ca_private_keys(host, ca_host):
        file = host.file(key)
        assert (file.user, file.mode) == (service_user(ca_host, "ca"), 0o600), key


def test_the_peer_and_chaincode_users_on_the_ca_host_cannot_read_its_keys(host: Any, ca_host: str) -> None:
    """The CA shares its host with a peer and chaincode servers: code running as either (a chaincode broken
    into) reads none of the CA's signing keys, while the CA's own user reads them all."""
    keys = ca_private_keys(host, ca_host)
    others = [user for user in service_users(ca_host) if user != service_user(ca_host, "ca")]
    assert {service_user(ca_host, "peer"), service_user(ca_host, "chaincode")} <= set(others)
    assert readable_by(host, service_user(ca_host, "ca"), keys) == set(keys)
    for user in others:
        assert readable_by(host, user, keys) == set(), user


def public_key(host: Any, path: str) -> str:
    """The public key of a PEM key file, or of the key a chaincode connection (connection.json, written
    by the peers' builder) embeds: the peer's TLS client key."""
    pem = host.run(f"openssl pkey -pubout -in {path}")
    if pem.rc != 0:
        embedded = "python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[\"client_key\"])'"
        pem = host.run(f"{embedded} {path} | openssl pkey -pubout")
    assert pem.rc == 0, f"{path}: {pem.stderr}"
    return str(pem.stdout).rstrip("\n") + "\n"  # as openssl prints the roots' public keys


def test_no_root_key_on_any_host(host: Any, inventory_host: str, pki_dir: Path) -> None:
    """The roots' private keys stay on the control node: no key on any host has a root's public key."""
    root_public_keys = {
        subprocess.run(
            ["openssl", "x509", "-pubkey", "-noout", "-in", str(pki_dir / f"{root}-root.pem")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for root in ("enrolment", "tls")
    }
    pem_key = "-----BEGIN \\(EC \\)\\?PRIVATE KEY-----"
    listing = host.run(f"grep -rlZ -- '{pem_key}' /etc/medledger /var/lib/medledger /opt/medledger /home /root")
    public_keys = {public_key(host, path) for path in listing.stdout.split("\0") if path}
    if inventory_host in ca_hosts():
        assert len(public_keys) > len(authorities(inventory_host)), "the search finds the CAs' own keys"
    assert public_keys.isdisjoint(root_public_keys)
