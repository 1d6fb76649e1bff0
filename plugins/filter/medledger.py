"""Filters that let roles name things the way medledger_tools.topology does (one source for the rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medledger_tools.artifacts import release_name
from medledger_tools.topology import (
    ca_authorities,
    enrolment_counts,
    first_enrolling_hosts,
    from_ansible,
    host_identities,
    port_sources,
    service_groups,
)

DOCUMENTATION = r"""
---
name: medledger_ca_authorities
short_description: The CAs a Fabric CA server hosts
description:
  - Given medledger_organisations and a fabric_ca_name, the TLS CA and the organisations' enrolment CAs
    that server hosts, each with name, dir, root (enrolment or tls) and organisation.
positional: _input, server
options:
  _input:
    description: medledger_organisations.
    type: list
    required: true
  server:
    description: The server's fabric_ca_name.
    type: str
    required: true
"""


def medledger_host_identities(hostvars: Any, groups: Any, host: str) -> list[dict[str, Any]]:
    """The identities `host` enrols, derived from the inventory (see topology.host_identities)."""
    return [identity.as_dict() for identity in host_identities(from_ansible(hostvars, groups), host)]


def medledger_enrolment_counts(hostvars: Any, groups: Any) -> dict[str, int]:
    """How many hosts enrol each identity (topology.enrolment_counts)."""
    return enrolment_counts(from_ansible(hostvars, groups))


def medledger_first_enrolling_hosts(hostvars: Any, groups: Any, hosts: list[str]) -> dict[str, str]:
    """Each identity one of `hosts` enrols -> the first of them that does (topology.first_enrolling_hosts)."""
    return first_enrolling_hosts(from_ansible(hostvars, groups), hosts)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "medledger_artifact_release": release_name,
            "medledger_ca_authorities": ca_authorities,
            "medledger_enrolment_counts": medledger_enrolment_counts,
            "medledger_first_enrolling_hosts": medledger_first_enrolling_hosts,
            "medledger_host_identities": medledger_host_identities,
            "medledger_port_sources": port_sources,
            "medledger_service_groups": service_groups,
        }
