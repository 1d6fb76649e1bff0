"""medledger-helm-values: the umbrella chart's values (helm/medledger) from the inventory the playbooks read.

Organisations, channels, chaincode, ordering (Kafka or Raft) and the batch settings are the inventory's; the
hosts become pods: a peer per `peers` host (its name, organisation, channels), an orderer per `orderers`
host, a ZooKeeper server and a broker per host of those groups, a Fabric CA server per `cas` host. Each pod's
identity is registered by its organisation's CA server (`fabric-ca.registrations`: the pods' names without the
release, which the charts prefix). The services with charts run beside the peer of the host the inventory puts
them on, as on the VMs: a PostgreSQL server there with their databases, the object store beside the storage
service. The inventory is validated first (the same checks as the playbooks'
preflight): a broken one renders nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from medledger_tools import topology

HEADER = "# Rendered by medledger-helm-values from {inventories}: edit the inventory, not this file.\n"


def organisation_values(organisation: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": organisation["name"],
        "mspId": organisation["msp_id"],
        "kind": organisation["kind"],
        "ca": organisation["ca"],
    }


def registration(
    name: str,
    organisation: dict[str, Any],
    msp_type: str | None = None,
    enrolments: int = 1,
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pod's identity at its organisation's TLS CA, or with msp_type (its NodeOU role) at its enrolment CA;
    enrolled once by each pod that presents it; `attributes` in its certificate."""
    server = str(organisation["ca"])
    ca = f"ca-{str(organisation['name']).lower()}" if msp_type else f"tlsca-{server}"
    found = {"name": name, "server": server, "ca": ca, "type": msp_type or "client",
             "affiliation": str(organisation["name"]).lower(), "enrolments": enrolments}  # fmt: skip
    return {**found, "attributes": dict(attributes)} if attributes else found


def ordering_pods(inventory: topology.Topology) -> dict[str, int]:
    """How many pods of each ordering component, as the StatefulSets name them (<component>-<ordinal>)."""
    groups = {"orderer": "orderers", "zookeeper": "zookeeper", "kafka": "kafka"}
    return {component: len(inventory.members(group)) for component, group in groups.items()}


def registrations(inventory: topology.Topology, kafka: bool) -> list[dict[str, Any]]:
    """The identities the CA servers register for the pods: each orderer's and each peer's TLS identity and MSP
    (roles `orderer`, `peer`), each peer organisation's admin's; with Kafka, in the orderer organisation as on the
    VMs, each ZooKeeper server's and each broker's TLS identity, and the subject every broker presents to
    ZooKeeper (the owner of the znodes they share), which each broker enrols once."""
    orderer_organisation = next(org for org in inventory.organisations.values() if org["kind"] == "orderer")
    pods = ordering_pods(inventory)
    found = []
    for ordinal in range(pods["orderer"]):
        found += [registration(f"orderer-{ordinal}", orderer_organisation),
                  registration(f"orderer-{ordinal}", orderer_organisation, msp_type="orderer")]  # fmt: skip
    for host in inventory.members("peers"):
        organisation = inventory.organisations[inventory.peer_organisation(host)]
        name = f"{inventory.hostvars[host]['fabric_peer_name']}-0"  # its StatefulSet's one pod
        found += [registration(name, organisation), registration(name, organisation, msp_type="peer")]
    # Each peer organisation's admin (creates and joins its channels), enrolled by its own channel Job.
    for organisation in inventory.organisations.values():
        if organisation["kind"] != "orderer":
            name = f"{str(organisation['name']).lower()}-admin"
            found += [registration(name, organisation), registration(name, organisation, msp_type="admin")]
    # Each chaincode server's TLS identity, per member organisation of its channel (helm/chaincode's Deployments,
    # whose pods share it: medledger-common.chaincodeIdentity).
    for chaincode in chaincodes(inventory):
        for member in inventory.channels[chaincode["channel"]]:
            found.append(registration(chaincode_identity(member, chaincode), inventory.organisations[member]))
    if kafka:
        found += [registration(f"zookeeper-{ordinal}", orderer_organisation) for ordinal in range(pods["zookeeper"])]
        found += [registration(f"kafka-{ordinal}", orderer_organisation) for ordinal in range(pods["kafka"])]
        found.append(registration(topology.KAFKA_ZOOKEEPER_CLIENT, orderer_organisation, enrolments=pods["kafka"]))
    return found + service_registrations(inventory)


# The services that have charts (helm/<service>), and those that sign their requests (or transactions) with an
# enrolment of their own.
CHARTED_SERVICES = ("registry", "hospital_manager", "storage", "sharing_proxy")
SIGNING_SERVICES = ("hospital_manager", "sharing_proxy")


def service_sites(inventory: topology.Topology, service: str) -> list[dict[str, str]]:
    """Where a service runs: per host of its group, the peer beside it (`name`) and the organisation whose TLS CA
    identifies it (medledger_services' `organisation`, else that peer's)."""
    declared = (inventory.global_var("medledger_services", {}) or {}).get(service, {})
    return [
        {"name": str(inventory.hostvars[host]["fabric_peer_name"]),
         "organisation": str(declared.get("organisation") or inventory.peer_organisation(host))}
        for host in inventory.members(service)
    ]  # fmt: skip


def postgresql_servers(inventory: topology.Topology) -> list[dict[str, Any]]:
    """A server beside each peer whose host runs charted services with a database: those databases."""
    declared = inventory.global_var("medledger_services", {}) or {}
    servers: dict[str, dict[str, Any]] = {}
    for service in CHARTED_SERVICES:
        if not declared.get(service, {}).get("database"):
            continue
        for host in inventory.members(service):
            name = str(inventory.hostvars[host]["fabric_peer_name"])
            server = servers.setdefault(
                name, {"name": name, "organisation": inventory.peer_organisation(host), "databases": []}
            )
            server["databases"].append(service)
    return list(servers.values())


def service_registrations(inventory: topology.Topology) -> list[dict[str, Any]]:
    """The identities of the services' pods: each PostgreSQL server's and object store's TLS identity (a
    StatefulSet's one pod); each service's TLS identity (its servers share it) and, for the services that sign
    their requests, its enrolment (with the inventory's attributes for it); the registry's registrars."""
    organisations = inventory.organisations
    declared = inventory.global_var("medledger_services", {}) or {}
    found = [registration(f"postgresql-{server['name']}-0", organisations[server["organisation"]])
             for server in postgresql_servers(inventory)]  # fmt: skip
    found += [registration(f"seaweedfs-{site['name']}-0", organisations[site["organisation"]])
              for site in service_sites(inventory, "storage")]  # fmt: skip
    for service in CHARTED_SERVICES:
        for site in service_sites(inventory, service):
            name, organisation = f"{service.replace('_', '-')}-{site['name']}", organisations[site["organisation"]]
            found.append(registration(name, organisation))
            if service in SIGNING_SERVICES:
                attributes = declared.get(service, {}).get("attributes")
                found.append(registration(name, organisation, msp_type="client", attributes=attributes))
    for registry in registry_instances(inventory):
        # Its registrar at each registered organisation's CAs: the enrolment CA (users with a role) and the TLS CA.
        for registrar in registry["registrars"]:
            organisation = organisations[registrar["organisation"]]
            name = registry_registrar(registry["name"], registrar["organisation"])
            found += [registration(name, organisation, msp_type="client", attributes=topology.REGISTRAR_ATTRIBUTES),
                      registration(name, organisation, attributes=topology.REGISTRAR_TLS_ATTRIBUTES)]  # fmt: skip
    return found


def service_endpoint(inventory: topology.Topology, service: str) -> dict[str, Any]:
    """Where the other services reach a service: its first site, as the VMs' medledger_service_endpoints has it
    (nothing when no host runs it: the umbrella then refuses the services that need it)."""
    sites = service_sites(inventory, service)
    return {**sites[0], "port": int(inventory.global_var("medledger_services")[service]["port"])} if sites else {}


def registry_registrar(site: str, organisation: str) -> str:
    """The registry's registrar identity at an organisation's CAs (as helm/registry names it)."""
    return f"registry-{site}-{organisation.lower()}"


def registry_instances(inventory: topology.Topology) -> list[dict[str, Any]]:
    """Each registry: where it runs, whose SAs approve (the government's, as roles/registry has it), and the
    organisations whose people it registers, with the roles they may have."""
    approver = next(org for org in inventory.organisations.values() if org["kind"] == "government")
    registrars = [
        {"organisation": str(org["name"]), "mspId": str(org["msp_id"]),
         "roles": list(topology.REGISTERED_ROLES[org["kind"]])}
        for org in inventory.organisations.values()
        if org["kind"] in topology.REGISTERED_ROLES
    ]  # fmt: skip
    return [{**site, "approverMspId": str(approver["msp_id"]), "registrars": registrars}
            for site in service_sites(inventory, "registry")]  # fmt: skip


def storage_proxy_msp_id(inventory: topology.Topology) -> str:
    """Whose medledger.proxy identities grant reads: the sharing proxy's organisation, as roles/storage has it."""
    declared = (inventory.global_var("medledger_services", {}) or {}).get("sharing_proxy", {})
    name = declared.get("organisation") or next(
        org["name"] for org in inventory.organisations.values() if org["kind"] == "government"
    )
    return str(inventory.organisations[name]["msp_id"])


def storage_instances(inventory: topology.Topology) -> list[dict[str, str]]:
    proxy_msp_id = storage_proxy_msp_id(inventory)
    return [{**site, "proxyMspId": proxy_msp_id} for site in service_sites(inventory, "storage")]


def chaincodes(inventory: topology.Topology) -> list[dict[str, Any]]:
    """The inventory's chaincodes: name, channel, version and the port its servers listen on."""
    return [
        {"name": str(chaincode["name"]), "channel": str(chaincode["channel"]), "version": str(chaincode["version"]),
         "port": int(chaincode["port"])}
        for chaincode in inventory.global_var("medledger_chaincodes", []) or []
    ]  # fmt: skip


def chaincode_identity(organisation: str, chaincode: dict[str, Any]) -> str:
    """As medledger-common.chaincodeIdentity names it."""
    return f"{organisation.lower()}-{chaincode['name'].replace('_', '-')}"


def render(inventory: topology.Topology) -> dict[str, Any]:
    consensus = str(inventory.global_var("medledger_consensus", "kafka"))
    kafka = consensus == "kafka"
    hostvars = inventory.hostvars
    organisations = list(inventory.organisations.values())
    cas = sorted({str(hostvars[host]["fabric_ca_name"]) for host in inventory.members("cas")})
    pods = ordering_pods(inventory)
    replication_factor = int(inventory.global_var("medledger_kafka_replication_factor", 3))
    return {
        "global": {
            "consensus": consensus,
            "organisations": [organisation_values(organisation) for organisation in organisations],
            "channels": [{"name": name, "organisations": members} for name, members in inventory.channels.items()],
            "chaincodes": chaincodes(inventory),
        },
        "fabric-ca": {
            "servers": [
                {"name": ca, "organisations": [org["name"] for org in organisations if org["ca"] == ca]} for ca in cas
            ],
            "registrations": registrations(inventory, kafka),
        },
        "zookeeper": {"enabled": kafka, "replicaCount": pods["zookeeper"]},
        "kafka": {
            "enabled": kafka,
            "replicaCount": pods["kafka"],
            # The brokers' only clients: the orderers' TLS identities (their pods' names without the release).
            "clients": [f"orderer-{ordinal}" for ordinal in range(pods["orderer"])] if kafka else [],
            "replicationFactor": replication_factor,
            "minInsyncReplicas": int(inventory.global_var("medledger_kafka_min_insync_replicas", 2)),
            # As roles/kafka: a batch of the orderers' largest size, with room for Kafka's own framing.
            "messageMaxBytes": int(inventory.global_var("medledger_batch_absolute_max_bytes")) + 1048576,
        },
        "orderer": {
            "replicaCount": pods["orderer"],
            "kafkaBrokers": pods["kafka"],
            "kafka": {"replicationFactor": replication_factor},
            "batch": {
                "timeout": str(inventory.global_var("medledger_batch_timeout")),
                "maxMessageCount": int(inventory.global_var("medledger_batch_max_message_count")),
                "preferredMaxBytes": int(inventory.global_var("medledger_batch_preferred_max_bytes")),
                "absoluteMaxBytes": int(inventory.global_var("medledger_batch_absolute_max_bytes")),
            },
        },
        "peer": {
            "peers": [
                {
                    "name": str(hostvars[host]["fabric_peer_name"]),
                    "organisation": inventory.peer_organisation(host),
                    "channels": inventory.peer_channels(host),
                    "anchor": hostvars[host].get("fabric_peer_anchor") is True,
                }
                for host in inventory.members("peers")
            ]
        },
        "chaincode": {},
        "postgresql": {"servers": postgresql_servers(inventory)},
        "seaweedfs": {"stores": service_sites(inventory, "storage")},
        "storage": {"instances": storage_instances(inventory)},
        "registry": {"instances": registry_instances(inventory)},
        "hospital-manager": {
            "instances": service_sites(inventory, "hospital_manager"),
            "registry": service_endpoint(inventory, "registry"),
        },
        "sharing-proxy": {
            "instances": service_sites(inventory, "sharing_proxy"),
            "registry": service_endpoint(inventory, "registry"),
            "storage": service_endpoint(inventory, "storage"),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-helm-values", description=__doc__.splitlines()[0])
    parser.add_argument("inventories", nargs="+", help="inventory folders, as ansible-playbook -i takes them")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    try:
        inventory = topology.load(*args.inventories)
    except topology.InventoryError as error:
        print(f"medledger-helm-values: {error}", file=sys.stderr)
        return 1
    problems = topology.validate(inventory)
    if problems:
        for problem in problems:
            print(f"medledger-helm-values: {problem}", file=sys.stderr)
        return 1
    text = HEADER.format(inventories=", ".join(args.inventories)) + yaml.safe_dump(render(inventory), sort_keys=False)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
