"""Registering a pseudonym with its organisation's CAs: at the organisation's CA (the enrolment certificate,
with the person's role) and at its TLS CA (the TLS client certificate the peers' Gateways ask for), as the
registry's registrar there. The person then enrols with a key made on their own device."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from medledger_api.common import Role
from medledger_client import enrolment
from medledger_client.identity import Identity, from_msp_folder, load_key

from .settings import RegistrarSettings


class Registrars(Protocol):
    def register(self, msp_id: str, pid: str, role: Role, secret: str) -> None:
        """Raise enrolment.EnrolmentError (the CA's own message) when a CA refuses."""
        ...


class FabricCaRegistrars:
    def __init__(self, registrars: dict[str, RegistrarSettings], tls_root: Path) -> None:
        self.settings = registrars
        self.tls_root = tls_root.read_bytes()

    def register(self, msp_id: str, pid: str, role: Role, secret: str) -> None:
        registrar = self.settings[msp_id]
        for ca_name, identity, attributes in (
            (registrar.ca_name, from_msp_folder(registrar.msp, msp_id), {"medledger.role": role.value}),
            (registrar.tls_ca_name, _tls_identity(registrar, msp_id), {}),
        ):
            enrolment.register(
                registrar.ca_address,
                ca_name,
                identity,
                self.tls_root,
                enrolment_id=pid,
                secret=secret,
                affiliation=registrar.affiliation,
                attributes=attributes,
            )


def _tls_identity(registrar: RegistrarSettings, msp_id: str) -> Identity:
    return Identity(msp_id, registrar.tls.certificate.read_bytes(), load_key(registrar.tls.key))
