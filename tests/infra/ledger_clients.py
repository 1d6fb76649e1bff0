"""Clients of the lab's ledger, as the paper's data client: identities registered by the organisation's
registrar, enrolled here (keys made by the test, never on a lab host), talking to peers' Gateways."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from medledger_services import enrolment
from medledger_services.gateway import Contract, Endpoint, Gateway
from medledger_services.identity import Identity, from_msp_folder

from .conftest import check_target, deployed, lab_host, role_var, run_module

CA_TLS_ROOT = "/etc/medledger/pki/tls-root.pem"
REGISTRARS = "/var/lib/medledger/fabric/ca/registrars"


@dataclass(frozen=True)
class LedgerClient:
    name: str
    identity: Identity
    tls_folder: Path

    def gateway(self, peer_host: str) -> Gateway:
        address = str(deployed().hostvars[peer_host]["ansible_host"])
        check_target(address)
        port = role_var("fabric_peer", "fabric_peer_port", peer_host)
        endpoint = Endpoint(
            f"{address}:{port}",
            peer_tls_chain(peer_host),
            (self.tls_folder / "server.crt").read_bytes(),
            (self.tls_folder / "server.key").read_bytes(),
        )
        return Gateway(endpoint, self.identity)


@cache
def peer_tls_chain(peer_host: str) -> bytes:
    """The CA chain of the peer's TLS certificate (peers present their certificate alone)."""
    name = deployed().hostvars[peer_host]["fabric_peer_name"]
    return bytes(lab_host(peer_host).file(f"/etc/medledger/fabric/{name}/tls/ca.crt").content)


@cache
def tls_root() -> bytes:
    return bytes(lab_host(deployed().members("cas")[0]).file(CA_TLS_ROOT).content)


def ca_host(organisation: str) -> str:
    server = deployed().organisations[organisation]["ca"]
    return next(host for host in deployed().members("cas") if deployed().hostvars[host]["fabric_ca_name"] == server)


def new_client(organisation: str, folder: Path, prefix: str, attributes: dict[str, str] | None = None) -> LedgerClient:
    """Register a fresh client of the organisation at its CA and TLS CA, then enrol both from here."""
    host = ca_host(organisation)
    server = deployed().organisations[organisation]["ca"]
    address = f"{deployed().hostvars[host]['ansible_host']}:7054"
    check_target(address.split(":", maxsplit=1)[0])
    name = f"{prefix}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(18)
    authorities: list[tuple[str, dict[str, Any]]] = [
        (f"ca-{organisation.lower()}", attributes or {}),
        (f"tlsca-{server}", {}),
    ]
    for ca_name, attrs in authorities:
        registered = run_module(
            host,
            "medledger_fabric_register",
            {
                "name": name,
                "secret": secret,
                "type": "client",
                "affiliation": organisation.lower(),
                "attributes": attrs,
                "ca_address": "127.0.0.1:7054",
                "ca_name": ca_name,
                "tls_root": CA_TLS_ROOT,
                "registrar_home": f"{REGISTRARS}/{ca_name}",
            },
        )
        assert registered.returncode == 0, registered.stdout[-2000:]
    member = enrolment.enrol(address, f"ca-{organisation.lower()}", name, secret, tls_root())
    member.write_msp(folder / name / "msp")
    tls = enrolment.enrol(address, f"tlsca-{server}", name, secret, tls_root(), tls_profile=True)
    tls.write_tls(folder / name / "tls")
    msp_id = str(deployed().organisations[organisation]["msp_id"])
    return LedgerClient(name, from_msp_folder(folder / name / "msp", msp_id), folder / name / "tls")


def chaincode_on(channel: str) -> str:
    chaincodes = deployed().global_var("medledger_chaincodes")
    return str(next(cc["name"] for cc in chaincodes if cc["channel"] == channel))


def contract(gateway: Gateway, channel: str) -> Contract:
    return gateway.contract(channel, chaincode_on(channel))
