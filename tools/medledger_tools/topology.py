"""The network's topology as the inventory declares it, and the checks it must pass.

Every playbook runs `validate` first (through the `medledger_inventory_check` action), before any host is
touched; the tests derive their expectations from the same `Topology`. Errors are one line each and name the
host or channel at fault and what to change.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .paths import REPO_ROOT

CONSENSUS_TYPES = ("kafka", "etcdraft")
# Groups whose services only Kafka ordering runs: with Raft their hosts install and open nothing for them.
KAFKA_ORDERING_GROUPS = ("kafka", "zookeeper")
ORGANISATION_KINDS = ("hospital", "government", "thirdparty", "orderer")

# Host variables each group needs, and what they say.
REQUIRED_HOST_VARS: dict[str, tuple[str, ...]] = {
    "peers": ("fabric_peer_name", "fabric_peer_organisation", "fabric_peer_channels"),
    "orderers": ("fabric_orderer_name",),
    "zookeeper": ("zookeeper_id",),
    "kafka": ("kafka_broker_id",),
    "cas": ("fabric_ca_name",),
}
# Host variables whose values must be unique across the hosts of a group.
UNIQUE_HOST_VARS: dict[str, tuple[str, ...]] = {
    "peers": ("fabric_peer_name",),
    "orderers": ("fabric_orderer_name",),
    "zookeeper": ("zookeeper_id",),
    "kafka": ("kafka_broker_id",),
    "cas": ("fabric_ca_name",),
}
REQUIRED_GLOBAL_VARS = ("medledger_organisations", "medledger_channels", "medledger_consensus")

# Fabric's own rules, which it would otherwise apply mid-deployment: channel IDs, configuration group names
# (organisations' names and MSP IDs) and chaincode definitions' names and versions.
FABRIC_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9.-]{0,248}")
FABRIC_GROUP_NAME = re.compile(r"[A-Za-z0-9.-]{1,249}")
FABRIC_CHAINCODE_NAME = re.compile(r"[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*")
FABRIC_CHAINCODE_VERSION = re.compile(r"[A-Za-z0-9_.+-]+")

# The chaincode (chaincode/<name>) whose channel holds the patients' index records: the Patient Channel.
PATIENT_RECORDS_CHAINCODE = "patient_data"
# Organisation kinds that may read patient records (the chaincode's readers): the Patient Channel's members.
PATIENT_CHANNEL_KINDS = ("hospital", "government")

# Every port a host listens on, by the inventory group that makes it listen: (role, variable) whose value a
# host variable of that name overrides, else the role's default. The services' ports come from
# medledger_services, the chaincode servers' from medledger_chaincodes; SeaweedFS adds a gRPC port 10000
# above each of its master, volume and filer ports.
LISTENERS: dict[str, tuple[tuple[str, str], ...]] = {
    "peers": (("fabric_peer", "fabric_peer_port"), ("fabric_peer", "fabric_peer_operations_port")),
    "orderers": (
        ("fabric_orderer", "fabric_orderer_port"),
        ("fabric_orderer", "fabric_orderer_admin_port"),
        ("fabric_orderer", "fabric_orderer_operations_port"),
    ),
    "cas": (("fabric_ca", "fabric_ca_port"), ("fabric_ca", "fabric_ca_operations_address")),
    "kafka": (("kafka", "kafka_port"),),
    "zookeeper": (
        ("zookeeper", "zookeeper_secure_client_port"),
        ("zookeeper", "zookeeper_quorum_port"),
        ("zookeeper", "zookeeper_election_port"),
        ("zookeeper", "zookeeper_admin_port"),
    ),
    "postgresql": (("postgresql", "postgresql_port"),),
    "storage": (
        ("seaweedfs", "seaweedfs_master_port"),
        ("seaweedfs", "seaweedfs_volume_port"),
        ("seaweedfs", "seaweedfs_filer_port"),
        ("seaweedfs", "seaweedfs_s3_port"),
    ),
}
SEAWEEDFS_GRPC_OFFSET = 10000
SEAWEEDFS_GRPC_PORTS = ("seaweedfs_master_port", "seaweedfs_volume_port", "seaweedfs_filer_port")


@dataclass(frozen=True)
class Topology:
    """The inventory reduced to what the checks and the tests need."""

    hostvars: Mapping[str, Mapping[str, Any]]
    groups: Mapping[str, list[str]]

    @property
    def hosts(self) -> list[str]:
        return sorted(self.hostvars)

    def members(self, group: str) -> list[str]:
        return sorted(self.groups.get(group, []))

    def global_var(self, name: str, default: Any = None) -> Any:
        """A variable set for all hosts (group_vars/all); read from the first host."""
        for host in self.hosts:
            if name in self.hostvars[host]:
                return self.hostvars[host][name]
        return default

    @property
    def organisations(self) -> dict[str, dict[str, Any]]:
        return {org["name"]: org for org in self.global_var("medledger_organisations", []) or []}

    @property
    def channels(self) -> dict[str, list[str]]:
        return {ch["name"]: list(ch.get("organisations", [])) for ch in self.global_var("medledger_channels", []) or []}

    def peer_channels(self, host: str) -> list[str]:
        return list(self.hostvars[host].get("fabric_peer_channels", []))

    def anchor_peers(self, channel: str, organisation: str) -> list[str]:
        """The organisation's peers on the channel that other organisations' peers contact first."""
        return [
            host
            for host in self.members("peers")
            if self.peer_organisation(host) == organisation
            and channel in self.peer_channels(host)
            and self.hostvars[host].get("fabric_peer_anchor") is True
        ]

    def service_groups(self, host: str) -> list[str]:
        """The host's groups whose services run (see service_groups)."""
        groups = sorted(group for group, members in self.groups.items() if host in members and group != "all")
        return service_groups(groups, str(self.global_var("medledger_consensus", "kafka")))

    def peer_organisation(self, host: str) -> str:
        return str(self.hostvars[host].get("fabric_peer_organisation", ""))

    def service_organisation(self, service: str, host: str) -> str:
        """The organisation whose CAs issue `service`'s identity on `host`: the one its inventory entry names
        (the sharing proxy is the government's wherever it runs), else that of the peer it sits beside."""
        spec = (self.global_var("medledger_services", {}) or {}).get(service, {})
        return str(spec.get("organisation") or self.peer_organisation(host))


def validate(topology: Topology, fabric_version: str | None = None) -> list[str]:
    """Every problem with the inventory, one line each; empty when it is sound. `fabric_version` (the pinned
    Fabric release) lets the consensus type be checked against what that release supports."""
    errors: list[str] = []
    errors += _check_global_vars(topology)
    if errors:
        return errors
    errors += _check_addresses(topology)
    errors += _check_required_host_vars(topology)
    errors += _check_unique_host_vars(topology)
    errors += _check_organisations(topology)
    errors += _check_channels(topology)
    errors += _check_ordering(topology, fabric_version)
    errors += _check_chaincodes(topology)
    errors += _check_beside_peers(topology)
    errors += _check_services(topology)
    errors += _check_fabric_names(topology)
    errors += _check_patient_channel(topology)
    errors += _check_ports(topology)
    return errors


def _check_global_vars(topology: Topology) -> list[str]:
    return [
        f"all: missing {name}; set it in group_vars/all.yml (see inventories/paper)"
        for name in REQUIRED_GLOBAL_VARS
        if topology.global_var(name) is None
    ]


def _check_addresses(topology: Topology) -> list[str]:
    errors = []
    seen: dict[str, str] = {}
    for host in topology.hosts:
        address = topology.hostvars[host].get("ansible_host")
        if address is None:
            errors.append(f"{host}: missing ansible_host; give the host its address")
            continue
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            errors.append(f"{host}: ansible_host {address!r} is not an IP address; use the host's address")
            continue
        if str(address) in seen:
            errors.append(
                f"{host}: address {address} is also {seen[str(address)]}'s; give each host its own ansible_host"
            )
        else:
            seen[str(address)] = host
    return errors


def _check_required_host_vars(topology: Topology) -> list[str]:
    return [
        f"{host}: missing {name} (required for hosts in group {group}); set it in host_vars/{host}.yml"
        for group, names in REQUIRED_HOST_VARS.items()
        for host in topology.members(group)
        for name in names
        if topology.hostvars[host].get(name) in (None, "", [])
    ]


# Groups whose services run beside a peer and take its organisation (their TLS identity is issued by it).
BESIDE_PEERS_GROUPS = ("postgresql",)


def _check_beside_peers(topology: Topology) -> list[str]:
    peers = set(topology.members("peers"))
    return [
        f"{host}: in group {group} but runs no peer; the services' hosts are peer hosts of their organisation"
        for group in BESIDE_PEERS_GROUPS
        for host in topology.members(group)
        if host not in peers
    ]


def _check_services(topology: Topology) -> list[str]:
    errors = []
    known = topology.organisations
    peers, databases = set(topology.members("peers")), set(topology.members("postgresql"))
    for service, spec in (topology.global_var("medledger_services", {}) or {}).items():
        organisation = spec.get("organisation")
        if organisation is not None and organisation not in known:
            errors.append(
                f"medledger_services: {service} has organisation {organisation}, which is not in "
                f"medledger_organisations ({', '.join(sorted(known))}); fix the name or leave it out"
            )
        for host in topology.members(service):
            if host not in peers:
                errors.append(f"{host}: in group {service} but runs no peer; services run beside a peer")
            elif spec.get("database") and host not in databases:
                errors.append(f"{host}: in group {service}, which keeps its state in PostgreSQL; add it to postgresql")
    return errors


def _check_fabric_names(topology: Topology) -> list[str]:
    errors = [
        f"channel {channel}: Fabric refuses the name; use lower case letters, digits, . and - , starting with a "
        "letter, fewer than 250 characters"
        for channel in topology.channels
        if not FABRIC_CHANNEL_NAME.fullmatch(channel)
    ]
    for org in topology.global_var("medledger_organisations", []) or []:
        for field in ("name", "msp_id"):
            if not FABRIC_GROUP_NAME.fullmatch(str(org.get(field, ""))):
                errors.append(
                    f"medledger_organisations: {field} {org.get(field)!r} is refused by Fabric as a configuration "
                    "group name; use letters, digits, . and - only"
                )
    for number, chaincode in enumerate(topology.global_var("medledger_chaincodes", []) or [], start=1):
        name, version = str(chaincode.get("name", "")), str(chaincode.get("version", ""))
        if not FABRIC_CHAINCODE_NAME.fullmatch(name):
            errors.append(
                f"medledger_chaincodes entry {number} ({name or 'no name'}): Fabric refuses the name; letters and "
                "digits, single - or _ between them"
            )
        if not FABRIC_CHAINCODE_VERSION.fullmatch(version):
            errors.append(
                f"medledger_chaincodes entry {number} ({name}): Fabric refuses version {version!r}; use letters, "
                "digits and _ . + -"
            )
    return errors


def _check_patient_channel(topology: Topology) -> list[str]:
    """Patient records are for hospitals and the government: another kind of organisation on their channel
    would read them, unless the operator says so on the channel (admit_other_organisations: true)."""
    errors = []
    known = topology.organisations
    declared = {str(c.get("name")): c for c in topology.global_var("medledger_channels", []) or []}
    for chaincode in topology.global_var("medledger_chaincodes", []) or []:
        channel = str(chaincode.get("channel"))
        if chaincode.get("name") != PATIENT_RECORDS_CHAINCODE or channel not in declared:
            continue
        if declared[channel].get("admit_other_organisations") is True:
            continue
        errors += [
            f"channel {channel}: holds the patients' records ({PATIENT_RECORDS_CHAINCODE}), but member {org} is "
            f"of kind {known[org].get('kind')}, which would read them; remove it, or set "
            "admit_other_organisations: true on the channel if that is intended"
            for org in topology.channels.get(channel, [])
            if org in known and known[org].get("kind") not in PATIENT_CHANNEL_KINDS
        ]
    return errors


def _check_ports(topology: Topology) -> list[str]:
    errors = []
    for host in topology.hosts:
        listeners: dict[int, list[str]] = {}
        for what, port in host_listeners(topology, host):
            listeners.setdefault(port, []).append(what)
        errors += [
            f"{host}: port {port} would be both {' and '.join(whats)}; give one of them another port"
            for port, whats in sorted(listeners.items())
            if len(whats) > 1
        ]
    return errors


def host_listeners(topology: Topology, host: str) -> list[tuple[str, int]]:
    """Every (what, port) the host will listen on, loopback or not: two on one port cannot both start."""
    values = topology.hostvars[host]
    groups = topology.service_groups(host)
    found: list[tuple[str, int]] = []
    for group in groups:
        for role, name in LISTENERS.get(group, ()):
            value = values.get(name, _role_default(role, name))
            port = int(str(value).rsplit(":", 1)[-1])
            found.append((name, port))
            if name in SEAWEEDFS_GRPC_PORTS:
                found.append((f"{name} + {SEAWEEDFS_GRPC_OFFSET} (gRPC)", port + SEAWEEDFS_GRPC_OFFSET))
    for service, spec in (topology.global_var("medledger_services", {}) or {}).items():
        if service in groups:
            found.append((f"medledger_services.{service}.port", int(spec["port"])))
    if "peers" in groups:
        channels = set(topology.peer_channels(host))
        found += [
            (f"chaincode {chaincode['name']}'s port", int(chaincode["port"]))
            for chaincode in topology.global_var("medledger_chaincodes", []) or []
            if chaincode.get("channel") in channels and isinstance(chaincode.get("port"), int)
        ]
    return found


@cache
def _role_defaults(role: str) -> dict[str, Any]:
    loaded = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    return dict(loaded or {})


def _role_default(role: str, name: str) -> Any:
    return _role_defaults(role)[name]


def _check_unique_host_vars(topology: Topology) -> list[str]:
    errors = []
    for group, names in UNIQUE_HOST_VARS.items():
        for name in names:
            owners: dict[str, str] = {}
            for host in topology.members(group):
                value = topology.hostvars[host].get(name)
                if value is None:
                    continue
                if str(value) in owners:
                    errors.append(
                        f"{host}: {name} {value} is also {owners[str(value)]}'s; each host in {group} needs its own"
                    )
                else:
                    owners[str(value)] = host
    return errors


def _check_organisations(topology: Topology) -> list[str]:
    errors = []
    declared = topology.global_var("medledger_organisations", [])
    for field in ("name", "msp_id"):
        counts = Counter(str(org.get(field)) for org in declared)
        errors += [
            f"medledger_organisations: {field} {value} appears {count} times; organisations need distinct {field}s"
            for value, count in counts.items()
            if count > 1
        ]
    for org in declared:
        if org.get("kind") not in ORGANISATION_KINDS:
            errors.append(
                f"medledger_organisations: {org.get('name')} has kind {org.get('kind')!r}; "
                f"use one of {', '.join(ORGANISATION_KINDS)}"
            )
    ca_names = {str(topology.hostvars[host].get("fabric_ca_name")) for host in topology.members("cas")}
    errors += [
        f"medledger_organisations: {org.get('name')} has ca {org.get('ca')!r}, which no host in group cas "
        f"serves (fabric_ca_name: {', '.join(sorted(ca_names)) or 'none'}); fix the name or add the CA host"
        for org in declared
        if str(org.get("ca")) not in ca_names
    ]
    known = topology.organisations
    for host in topology.members("peers"):
        org = topology.peer_organisation(host)
        if org and org not in known:
            errors.append(
                f"{host}: fabric_peer_organisation {org} is not in medledger_organisations "
                f"({', '.join(sorted(known))}); declare it in group_vars/all.yml or fix the name"
            )
    return errors


def _check_channels(topology: Topology) -> list[str]:
    errors = []
    known_orgs = topology.organisations
    channels = topology.channels
    for channel, orgs in channels.items():
        errors += [
            f"channel {channel}: organisation {org} is not in medledger_organisations; declare it or fix the name"
            for org in orgs
            if org not in known_orgs
        ]
    for host in topology.members("peers"):
        org = topology.peer_organisation(host)
        for channel in topology.peer_channels(host):
            if channel not in channels:
                errors.append(
                    f"{host}: fabric_peer_channels names {channel}, which is not in medledger_channels "
                    f"({', '.join(sorted(channels))}); fix the name or declare the channel"
                )
            elif org in known_orgs and org not in channels[channel]:
                errors.append(
                    f"{host}: joins {channel}, but its organisation {org} is not a member of it; "
                    f"remove the channel from fabric_peer_channels or add {org} to the channel"
                )
    for channel, orgs in channels.items():
        for org in orgs:
            peers = [
                host
                for host in topology.members("peers")
                if topology.peer_organisation(host) == org and channel in topology.peer_channels(host)
            ]
            if org in known_orgs and known_orgs[org].get("kind") != "orderer" and not peers:
                errors.append(
                    f"channel {channel}: no peer of member organisation {org} joins it; "
                    f"add {channel} to fabric_peer_channels of one of {org}'s peers"
                )
            elif peers and not topology.anchor_peers(channel, org):
                errors.append(
                    f"channel {channel}: organisation {org} has no anchor peer, so other organisations' peers "
                    f"cannot find its peers; set fabric_peer_anchor: true on one of {', '.join(peers)}"
                )
    return errors


def _check_ordering(topology: Topology, fabric_version: str | None) -> list[str]:
    errors = []
    consensus = topology.global_var("medledger_consensus")
    if consensus not in CONSENSUS_TYPES:
        return [f"all: medledger_consensus is {consensus!r}; use one of {', '.join(CONSENSUS_TYPES)}"]
    if consensus == "kafka" and fabric_version and int(fabric_version.split(".")[0]) >= 3:
        errors.append(
            f"all: medledger_consensus is kafka, but versions.yml pins Fabric {fabric_version}, which has no Kafka "
            "ordering (removed in 3.0); use etcdraft or pin a 2.5 release"
        )
    if not topology.members("orderers"):
        errors.append("group orderers: no host; put at least one host (three for fault tolerance) in it")
    errors += _check_batch(topology)
    if consensus != "kafka":
        return errors
    zookeepers = topology.members("zookeeper")
    if len(zookeepers) % 2 == 0:
        errors.append(
            f"group zookeeper: {len(zookeepers)} hosts ({', '.join(zookeepers) or 'none'}); "
            "an ensemble needs an odd count (1, 3, 5) to keep a majority: add or remove one"
        )
    brokers = topology.members("kafka")
    replication = int(topology.global_var("medledger_kafka_replication_factor", 3))
    min_insync = int(topology.global_var("medledger_kafka_min_insync_replicas", 2))
    if len(brokers) < replication:
        errors.append(
            f"group kafka: {len(brokers)} brokers, fewer than medledger_kafka_replication_factor {replication}; "
            "add brokers or lower the replication factor"
        )
    if min_insync >= replication:
        errors.append(
            f"all: medledger_kafka_min_insync_replicas {min_insync} is not below the replication factor "
            f"{replication}; one broker down would stop ordering: lower it"
        )
    return errors


def _check_chaincodes(topology: Topology) -> list[str]:
    errors = []
    seen_names: set[str] = set()
    seen_ports: set[object] = set()
    for number, chaincode in enumerate(topology.global_var("medledger_chaincodes", []) or [], start=1):
        name = str(chaincode.get("name", ""))
        where = f"medledger_chaincodes entry {number} ({name or 'no name'})"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            errors.append(f"{where}: name must be lower case letters, digits and _ (it names a service and a binary)")
        if chaincode.get("channel") not in topology.channels:
            errors.append(f"{where}: channel {chaincode.get('channel')!r} is not in medledger_channels")
        if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,32}", str(chaincode.get("version", ""))):
            errors.append(f"{where}: version must be letters, digits and _ . + - (it is part of the package label)")
        port = chaincode.get("port")
        if not isinstance(port, int) or not 1024 <= port <= 65535:
            errors.append(f"{where}: port must be a number from 1024 to 65535 (the server's loopback port)")
        if name in seen_names or port in seen_ports:
            errors.append(f"{where}: name and port must differ from every other chaincode's")
        seen_names.add(name)
        seen_ports.add(port)
    return errors


def _check_batch(topology: Topology) -> list[str]:
    errors = []
    timeout = str(topology.global_var("medledger_batch_timeout", "2s"))
    if not re.fullmatch(r"[1-9]\d*(ms|s|m)", timeout):
        errors.append(f"all: medledger_batch_timeout {timeout!r} is no duration; write it as 2s, 500ms or 1m")
    count, preferred, absolute = (
        topology.global_var(name, default)
        for name, default in (
            ("medledger_batch_max_message_count", 100),
            ("medledger_batch_preferred_max_bytes", 524288),
            ("medledger_batch_absolute_max_bytes", 10485760),
        )
    )
    if not all(isinstance(value, int) and value > 0 for value in (count, preferred, absolute)):
        errors.append(
            "all: medledger_batch_max_message_count, _preferred_max_bytes and _absolute_max_bytes must be positive "
            f"integers (bytes), not {count!r}, {preferred!r}, {absolute!r}"
        )
    elif preferred > absolute:
        errors.append(
            f"all: medledger_batch_preferred_max_bytes {preferred} is above medledger_batch_absolute_max_bytes "
            f"{absolute}; a batch could never reach its preferred size: lower it"
        )
    return errors


def from_ansible(hostvars: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Iterable[str]]) -> Topology:
    """Build a Topology from Ansible's `hostvars` and `groups` magic variables."""
    wanted = {name for names in REQUIRED_HOST_VARS.values() for name in names}
    wanted |= {name for listeners in LISTENERS.values() for _, name in listeners}
    wanted |= set(REQUIRED_GLOBAL_VARS) | {
        "ansible_host",
        "fabric_peer_anchor",
        "medledger_client_identities",
        "medledger_services",
        "medledger_chaincodes",
        "medledger_kafka_replication_factor",
        "medledger_kafka_min_insync_replicas",
        "medledger_batch_timeout",
        "medledger_batch_max_message_count",
        "medledger_batch_preferred_max_bytes",
        "medledger_batch_absolute_max_bytes",
    }
    all_hosts = sorted(set(groups.get("all", [])))
    # Each `hostvars[host]` recomputes all of that host's variables: look it up once per host, not per name.
    plain = {host: _wanted_values(hostvars[host], wanted) for host in all_hosts}
    return Topology(plain, {group: list(members) for group, members in groups.items()})


def _wanted_values(values: Mapping[str, Any], wanted: set[str]) -> dict[str, Any]:
    return {name: values[name] for name in wanted if name in values}


class InventoryError(Exception):
    """The inventory could not be read at all; one line for the operator."""


def ansible_inventory_json(*inventories: str) -> dict[str, Any]:
    """`ansible-inventory --list` of these inventories (the ansible.cfg default when none)."""
    # Prefer the one beside this interpreter: it is the version uv.lock pins.
    beside = Path(sys.executable).with_name("ansible-inventory")
    command = [str(beside) if beside.is_file() else "ansible-inventory", "--list"]
    for inventory in inventories:
        command += ["-i", inventory]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise InventoryError("ansible-inventory not found; run through `uv run`") from error
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise InventoryError(f"ansible-inventory failed: {last}")
    return dict(json.loads(result.stdout))


def from_inventory_json(data: Mapping[str, Any]) -> Topology:
    hostvars: Mapping[str, Any] = data.get("_meta", {}).get("hostvars", {})

    def flatten(group: str) -> set[str]:
        entry = data.get(group, {})
        hosts = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            hosts |= flatten(child)
        return hosts

    groups = {group: sorted(flatten(group)) for group in data if group != "_meta"}
    groups["all"] = sorted(set(hostvars) | {host for members in groups.values() for host in members})
    return Topology({host: hostvars.get(host, {}) for host in groups["all"]}, groups)


def load(*inventories: str) -> Topology:
    """Read inventories the way Ansible does."""
    return from_inventory_json(ansible_inventory_json(*inventories))


def ca_authorities(organisations: Iterable[Mapping[str, Any]], server: str) -> list[dict[str, str]]:
    """The CAs one Fabric CA server hosts: its TLS CA (the server's default CA), then the enrolment CA of
    each organisation whose `ca` is this server. Names are what clients pass as --caname."""
    authorities = [{"name": f"tlsca-{server}", "dir": "tlsca", "root": "tls", "organisation": "MedLedger TLS"}]
    for org in organisations:
        if org.get("ca") == server:
            slug = str(org["name"]).lower()
            authorities.append(
                {"name": f"ca-{slug}", "dir": f"orgs/{slug}", "root": "enrolment", "organisation": str(org["name"])}
            )
    return authorities


@dataclass(frozen=True)
class Identity:
    """One enrolment a host holds under /etc/medledger/fabric/<name>: an MSP folder unless `msp` is false
    (services that speak only TLS, such as ZooKeeper), and a TLS folder when `tls`. `services` are the
    systemd units that present its TLS certificate, restarted when it is rotated. `runs_as` is the service
    kind (a key of medledger_service_users) whose system user alone may read its key; empty for admins and
    service clients, whose keys only root reads."""

    name: str
    type: str
    organisation: str
    ca_server: str
    tls: bool
    csr_hosts: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    msp: bool = True
    services: tuple[str, ...] = ()
    runs_as: str = ""
    tls_attributes: tuple[tuple[str, str], ...] = ()

    @property
    def ca_name(self) -> str:
        return f"ca-{self.organisation.lower()}"

    @property
    def tls_ca_name(self) -> str:
        return f"tlsca-{self.ca_server}"

    @property
    def affiliation(self) -> str:
        return self.organisation.lower()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "organisation": self.organisation,
            "ca_server": self.ca_server,
            "ca_name": self.ca_name,
            "tls_ca_name": self.tls_ca_name,
            "affiliation": self.affiliation,
            "tls": self.tls,
            "csr_hosts": list(self.csr_hosts),
            "attributes": dict(self.attributes),
            "msp": self.msp,
            "services": list(self.services),
            "runs_as": self.runs_as,
            "tls_attributes": dict(self.tls_attributes),
        }


def service_groups(group_names: Iterable[str], consensus: str) -> list[str]:
    """The host's groups whose services this deployment runs."""
    idle = KAFKA_ORDERING_GROUPS if consensus != "kafka" else ()
    return [group for group in group_names if group not in idle]


def port_sources(
    sources: Mapping[Any, Iterable[str]],
    host_ports: Iterable[Any],
    groups: Mapping[str, Iterable[str]],
    hostvars: Mapping[str, Mapping[str, Any]],
) -> dict[int, list[str]]:
    """Of a host's open ports, those restricted to some inventory groups, each with the sorted addresses of
    those groups' hosts: the firewall lets only these reach the port."""
    restricted = {int(port): list(names) for port, names in sources.items()}
    return {
        port: sorted(
            {str(hostvars[member]["ansible_host"]) for group in restricted[port] for member in groups.get(group, [])}
        )
        for port in sorted({int(port) for port in host_ports})
        if port in restricted
    }


# The enrolment ID (certificate subject) every Kafka broker presents to ZooKeeper.
KAFKA_ZOOKEEPER_CLIENT = "kafka-zookeeper-client"


def zookeeper_name(hostvars: Mapping[str, Any]) -> str:
    return f"zookeeper{hostvars['zookeeper_id']}"


def kafka_name(hostvars: Mapping[str, Any]) -> str:
    return f"kafka{hostvars['kafka_broker_id']}"


def admin_name(organisation: str) -> str:
    return f"admin-{organisation.lower()}"


# The organisations whose people the registry registers, and what each kind's people may be.
REGISTERED_ROLES = {"hospital": ("patient", "doctor"), "thirdparty": ("thirdparty",)}
# What the registry's registrar at such an organisation's CAs may do: register clients, and give them a role.
REGISTRAR_ATTRIBUTES = {"hf.Registrar.Roles": "client", "hf.Registrar.Attributes": "medledger.role"}
REGISTRAR_TLS_ATTRIBUTES = {"hf.Registrar.Roles": "client"}


def registrar_name(organisation: str) -> str:
    """The registry's registrar identity at an organisation's CAs."""
    return f"svc-registry-{organisation.lower()}"


def service_identity_name(peer_name: str, service: str) -> str:
    """The identity of a service beside a peer: its HTTPS certificate and its enrolment."""
    return f"{peer_name}-{service.replace('_', '-')}"


def service_unit(service: str) -> str:
    return f"medledger-{service.replace('_', '-')}"


class _Identities:
    """The identities of one host as they are found; the first of one name wins."""

    def __init__(self, organisations: Mapping[str, Mapping[str, Any]]) -> None:
        self.organisations = organisations
        self.found: list[Identity] = []

    def add(
        self,
        name: str,
        kind: str,
        organisation: str,
        tls: bool,
        *,
        hosts: tuple[str, ...] = (),
        attrs: Mapping[str, Any] | None = None,
        msp: bool = True,
        services: tuple[str, ...] = (),
        runs_as: str = "",
        tls_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        if any(identity.name == name for identity in self.found):
            return
        server = str(self.organisations[organisation]["ca"])
        attributes, tls_attributes = (
            tuple(sorted((str(key), str(value)) for key, value in (given or {}).items()))
            for given in (attrs, tls_attrs)
        )
        self.found.append(
            Identity(name, kind, organisation, server, tls, hosts, attributes, msp, services, runs_as, tls_attributes)
        )


def host_identities(topology: Topology, host: str) -> list[Identity]:
    """The identities a host enrols: its peer and orderer, their organisations' admins (which run the
    admin CLIs there), the ordering service's brokers, the services beside the peer, and the service clients
    of `medledger_client_identities` placed on it."""
    identities = _Identities(topology.organisations)
    _node_identities(topology, host, identities)
    _service_identities(topology, host, identities)
    return identities.found


def _node_identities(topology: Topology, host: str, identities: _Identities) -> None:
    orgs = topology.organisations
    values = topology.hostvars[host]
    own_names = (host, str(values.get("ansible_host", "")))
    add = identities.add
    if host in topology.members("peers"):
        org = topology.peer_organisation(host)
        peer = str(values["fabric_peer_name"])
        add(peer, "peer", org, True, hosts=(peer, *own_names), services=("fabric-peer",), runs_as="peer")
        add(admin_name(org), "admin", org, True)
        # The chaincode servers beside the peer listen on loopback; the peer verifies them by this TLS identity.
        servers = tuple(
            f"medledger-chaincode@{cc.get('name')}"
            for cc in topology.global_var("medledger_chaincodes", []) or []
            if cc.get("channel") in topology.peer_channels(host)
        )
        if servers:
            loopback = ("localhost", "127.0.0.1")
            add(f"{peer}-chaincode", "client", org, True, hosts=loopback, msp=False, services=servers,
                runs_as="chaincode")  # fmt: skip
    if host in topology.members("orderers"):
        org = next(name for name, spec in orgs.items() if spec.get("kind") == "orderer")
        orderer = str(values["fabric_orderer_name"])
        add(orderer, "orderer", org, True, hosts=(orderer, *own_names), services=("fabric-orderer",), runs_as="orderer")
        add(admin_name(org), "admin", org, True)
    # The ordering service's ZooKeeper ensemble and Kafka brokers speak TLS among themselves and to the
    # orderers, with certificates from the orderer organisation's TLS CA.
    kafka_ordering = topology.global_var("medledger_consensus") == "kafka"
    for group, service_name in (("zookeeper", zookeeper_name), ("kafka", kafka_name)):
        if kafka_ordering and host in topology.members(group):
            org = next(name for name, spec in orgs.items() if spec.get("kind") == "orderer")
            name = service_name(values)
            add(name, "client", org, True, hosts=(name, *own_names), msp=False, services=(group,), runs_as=group)
    if kafka_ordering and host in topology.members("kafka"):
        # ZooKeeper's ACLs name the client's certificate subject, and every broker must be able to change
        # every broker's znodes: the brokers share one subject towards ZooKeeper, each with its own key and
        # its own host names (Kafka's guide for ZooKeeper over mutual TLS).
        org = next(name for name, spec in orgs.items() if spec.get("kind") == "orderer")
        add(KAFKA_ZOOKEEPER_CLIENT, "client", org, True, hosts=own_names, msp=False, services=("kafka",),
            runs_as="kafka")  # fmt: skip


def _service_identities(topology: Topology, host: str, identities: _Identities) -> None:
    orgs = topology.organisations
    values = topology.hostvars[host]
    own_names = (host, str(values.get("ansible_host", "")))
    add = identities.add
    if host in topology.members("postgresql") and host in topology.members("peers"):
        # The services' database beside the peer: its server certificate, for clients on this host.
        org = topology.peer_organisation(host)
        add(f"{values['fabric_peer_name']}-postgresql", "client", org, True, hosts=("localhost", "127.0.0.1"),
            msp=False, services=("postgresql",), runs_as="postgresql")  # fmt: skip
    for service, spec in (topology.global_var("medledger_services", {}) or {}).items():
        if host in topology.members(service) and host in topology.members("peers"):
            # Its HTTPS certificate from its organisation's TLS CA (by default that of the peer it sits beside),
            # and its enrolment there, which signs its requests to other services and its transactions.
            add(service_identity_name(str(values["fabric_peer_name"]), service), "client",
                topology.service_organisation(service, host), True, hosts=own_names, services=(service_unit(service),),
                runs_as=service, attrs=spec.get("attributes", {}))  # fmt: skip
    if host in topology.members("storage") and host in topology.members("peers"):
        # The object store behind the storage service: TLS on its loopback ports, between its components too.
        add(f"{values['fabric_peer_name']}-seaweedfs", "client", topology.peer_organisation(host), True,
            hosts=("localhost", "127.0.0.1"), msp=False, services=("seaweedfs",), runs_as="seaweedfs")  # fmt: skip
    if host in topology.members("registry"):
        for org, spec in orgs.items():
            if spec.get("kind") in REGISTERED_ROLES:
                # The registry reads its registrars' keys when it starts: a renewed one restarts it.
                add(registrar_name(org), "client", org, True, attrs=REGISTRAR_ATTRIBUTES,
                    tls_attrs=REGISTRAR_TLS_ATTRIBUTES, services=(service_unit("registry"),),
                    runs_as="registry")  # fmt: skip
    for client in topology.global_var("medledger_client_identities", []) or []:
        org = str(client["organisation"])
        homes = [h for h in topology.members("peers") if topology.peer_organisation(h) == org]
        if homes and homes[0] == host:
            add(str(client["name"]), "client", org, False, attrs=client.get("attributes", {}))


def enrolment_counts(topology: Topology) -> dict[str, int]:
    """How many hosts enrol each identity (by enrolment ID): the number of times its enrolment secret may
    be used at each of its CAs (`--id.maxenrollments`). An organisation's admin is enrolled on each of its
    peer and orderer hosts, `kafka-zookeeper-client` on each Kafka host, anything else on one host.
    `roles/fabric_msp` and `roles/fabric_ca` read it through the filter `medledger_enrolment_counts`."""
    counts: Counter[str] = Counter()
    for host in topology.hosts:
        counts.update(identity.name for identity in host_identities(topology, host))
    return dict(sorted(counts.items()))


def first_enrolling_hosts(topology: Topology, hosts: Iterable[str]) -> dict[str, str]:
    """Each identity that one of `hosts` enrols -> the first of them (sorted) that does. That host registers
    it: two hosts registering the same identity at once would both try to add it."""
    first: dict[str, str] = {}
    for host in sorted(hosts):
        for identity in host_identities(topology, host):
            first.setdefault(identity.name, host)
    return first
