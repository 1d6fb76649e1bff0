"""Every identity the inventory gives a host is enrolled there: chain to the offline roots, NodeOU, SANs, keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medledger_tools.topology import Identity, host_identities

from .conftest import controller_var, deployed, role_var

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def roots() -> dict[str, str]:
    pki = Path(controller_var("medledger_pki_dir"))
    return {name: (pki / f"{name}-root.pem").read_text() for name in ("enrolment", "tls")}


def identities(inventory_host: str) -> list[Identity]:
    found = host_identities(deployed(), inventory_host)
    if not found:
        pytest.skip(f"{inventory_host} holds no Fabric identity")
    return found


def folder(inventory_host: str, identity: Identity) -> str:
    return f"{role_var('fabric_msp', 'fabric_msp_dir', inventory_host)}/{identity.name}"


def test_enrolment_certificates_chain_to_the_offline_root(
    host: Any, inventory_host: str, roots: dict[str, str]
) -> None:
    for identity in identities(inventory_host):
        if not identity.msp:
            continue
        msp = f"{folder(inventory_host, identity)}/msp"
        assert host.file(f"{msp}/cacerts/root.pem").content_string.strip() == roots["enrolment"].strip()
        host.check_output(
            f"openssl verify -CAfile {msp}/cacerts/root.pem -untrusted {msp}/intermediatecerts/ca.pem "
            f"{msp}/signcerts/cert.pem"
        )
        subject = host.check_output(f"openssl x509 -noout -subject -in {msp}/signcerts/cert.pem")
        assert f"OU = {identity.type} + OU = {identity.affiliation}" in subject
        assert f"CN = {identity.name}" in subject
        issuer = host.check_output(f"openssl x509 -noout -issuer -in {msp}/signcerts/cert.pem")
        assert f"CN = {identity.ca_name}" in issuer
        assert "OrganizationalUnitIdentifier: admin" in host.file(f"{msp}/config.yaml").content_string


def test_tls_certificates_carry_the_hosts_names(host: Any, inventory_host: str, roots: dict[str, str]) -> None:
    for identity in identities(inventory_host):
        if not identity.tls:
            continue
        tls = f"{folder(inventory_host, identity)}/tls"
        chain = host.file(f"{tls}/ca.crt").content_string
        assert roots["tls"].strip() in chain
        host.check_output(f"openssl verify -CAfile {tls}/ca.crt -purpose sslserver {tls}/server.crt")
        sans = host.check_output(f"openssl x509 -noout -ext subjectAltName -in {tls}/server.crt")
        for name in identity.csr_hosts:
            assert (f"IP Address:{name}" if name[0].isdigit() else f"DNS:{name}") in sans


def test_private_keys_are_private(host: Any, inventory_host: str) -> None:
    owner = role_var("fabric_msp", "fabric_msp_owner", inventory_host)
    for identity in identities(inventory_host):
        keys = [f"{folder(inventory_host, identity)}/msp/keystore/key.pem"] if identity.msp else []
        if identity.tls:
            keys.append(f"{folder(inventory_host, identity)}/tls/server.key")
        for key in keys:
            file = host.file(key)
            assert (file.user, file.mode) == (owner, 0o600), key
        if identity.msp:
            assert host.run(f"ls -A {folder(inventory_host, identity)}/msp/keystore").stdout.split() == ["key.pem"]


def test_service_clients_carry_their_attributes(host: Any, inventory_host: str) -> None:
    for identity in identities(inventory_host):
        for key, value in identity.attributes:
            cert = host.check_output(
                f"openssl x509 -noout -text -in {folder(inventory_host, identity)}/msp/signcerts/cert.pem"
            )
            assert f'"{key}":"{value}"' in cert
