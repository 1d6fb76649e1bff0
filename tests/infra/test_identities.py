"""Every identity the inventory gives a host is enrolled there: chain to the offline roots, NodeOU, SANs, keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from medledger_tools.topology import Identity, ca_authorities, enrolment_counts, host_identities

from .conftest import controller_var, deployed, readable_by, role_var, service_user, service_users

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


def private_keys(inventory_host: str, identity: Identity) -> list[str]:
    keys = [f"{folder(inventory_host, identity)}/msp/keystore/key.pem"] if identity.msp else []
    return keys + ([f"{folder(inventory_host, identity)}/tls/server.key"] if identity.tls else [])


def key_owner(inventory_host: str, identity: Identity) -> str:
    return service_user(inventory_host, identity.runs_as) if identity.runs_as else "root"


def test_private_keys_are_private(host: Any, inventory_host: str) -> None:
    for identity in identities(inventory_host):
        for key in private_keys(inventory_host, identity):
            file = host.file(key)
            assert (file.user, file.mode) == (key_owner(inventory_host, identity), 0o600), key
        if identity.msp:
            assert host.run(f"ls -A {folder(inventory_host, identity)}/msp/keystore").stdout.split() == ["key.pem"]


def test_each_key_is_read_by_its_own_service_alone(host: Any, inventory_host: str) -> None:
    """An intruder in one service (a chaincode server, the peer, a broker) reads no other service's key:
    each system user reads exactly the keys of the identities its service presents."""
    keys = {key: key_owner(inventory_host, identity) for identity in identities(inventory_host)
            for key in private_keys(inventory_host, identity)}  # fmt: skip
    for user in service_users(inventory_host):
        own = {key for key, owner in keys.items() if owner == user}
        assert readable_by(host, user, sorted(keys)) == own, user


def test_service_clients_carry_their_attributes(host: Any, inventory_host: str) -> None:
    for identity in identities(inventory_host):
        for key, value in identity.attributes:
            cert = host.check_output(
                f"openssl x509 -noout -text -in {folder(inventory_host, identity)}/msp/signcerts/cert.pem"
            )
            assert f'"{key}":"{value}"' in cert


def test_each_identity_may_enrol_once_per_host_that_enrols_it(host: Any, inventory_host: str) -> None:
    """On each CA server: the registry's cap is the largest bound, and every identity of the inventory is
    registered at each of its CAs with one enrolment per host that enrols it (spent once they have)."""
    topology = deployed()
    if inventory_host not in topology.members("cas"):
        pytest.skip(f"{inventory_host} runs no CA")
    counts = enrolment_counts(topology)
    home = role_var("fabric_ca", "fabric_ca_home", inventory_host)
    authorities = ca_authorities(
        topology.global_var("medledger_organisations"), topology.hostvars[inventory_host]["fabric_ca_name"]
    )
    configs = [f"{home}/fabric-ca-server-config.yaml"] + [
        f"{home}/{authority['dir']}/fabric-ca-config.yaml" for authority in authorities[1:]
    ]
    for config in configs:
        assert yaml.safe_load(host.file(config).content_string)["registry"]["maxenrollments"] == max(counts.values())
    client = role_var("fabric_msp", "fabric_msp_client", inventory_host)
    port = role_var("fabric_ca", "fabric_ca_port", inventory_host)
    for authority in authorities:
        ca_name = authority["name"]
        registrar = f"{home}/registrars/{ca_name}"
        listing = host.check_output(
            f"{client} identity list -u https://127.0.0.1:{port} --caname {ca_name} "
            f"--tls.certfiles /etc/medledger/pki/tls-root.pem --home {registrar} --mspdir {registrar}/msp 2>/dev/null"
        )
        registered = {
            name: int(bound) for name, bound in re.findall(r"Name: ([^,]+), .*?Max Enrollments: (-?\d+)", listing)
        }
        expected = {
            identity.name: counts[identity.name]
            for member in topology.hosts
            for identity in host_identities(topology, member)
            if (identity.msp and identity.ca_name == ca_name) or (identity.tls and identity.tls_ca_name == ca_name)
        }
        assert expected, f"{ca_name} registers nobody of the inventory"
        assert {name: registered.get(name) for name in expected} == expected, ca_name
