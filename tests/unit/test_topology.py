"""The inventory checks: the paper's topology passes, and each kind of mistake is named with its fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from medledger_tools.topology import (
    Topology,
    enrolment_counts,
    first_enrolling_hosts,
    from_ansible,
    host_identities,
    port_sources,
    validate,
)

Edit = Callable[[dict[str, dict[str, Any]], dict[str, list[str]]], None]


def edited(paper: Topology, edit: Edit) -> Topology:
    hostvars = copy.deepcopy({host: dict(values) for host, values in paper.hostvars.items()})
    groups = copy.deepcopy({group: list(members) for group, members in paper.groups.items()})
    edit(hostvars, groups)
    return Topology(hostvars, groups)


def set_everywhere(name: str, value: Any) -> Edit:
    def edit(hostvars: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
        for values in hostvars.values():
            values[name] = value

    return edit


def test_paper_topology_is_valid(paper: Topology) -> None:
    assert validate(paper) == []


def test_paper_topology_matches_table_a3(paper: Topology) -> None:
    peers = {paper.hostvars[h]["fabric_peer_name"]: paper.hostvars[h]["ansible_host"] for h in paper.members("peers")}
    assert peers == {
        "peerxinqiao": "172.20.29.30",
        "peerkunyi": "172.20.29.31",
        "peerhuaxi": "172.20.29.32",
        "peergovernment": "172.20.29.33",
        "peermindray": "172.20.29.34",
        "peercqu": "172.20.29.35",
        "peerhealthcare": "172.20.29.36",
    }
    assert paper.members("orderers") == paper.members("zookeeper") == ["vm30", "vm31", "vm32"]
    assert paper.members("kafka") == ["vm30", "vm31", "vm32", "vm33"]
    assert paper.members("cas") == ["vm31", "vm33"]
    on_patient_channel = sorted(
        paper.hostvars[h]["fabric_peer_name"]
        for h in paper.members("peers")
        if "patientchannel" in paper.peer_channels(h)
    )
    assert on_patient_channel == ["peergovernment", "peerhuaxi", "peerkunyi", "peerxinqiao"]
    assert all("datausagechannel" in paper.peer_channels(h) for h in paper.members("peers"))


def _dup_address(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm31"]["ansible_host"] = "172.20.29.30"


def _dup_peer_name(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm35"]["fabric_peer_name"] = "peermindray"


def _even_zookeeper(_: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    groups["zookeeper"].append("vm33")


def _missing_var(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    del hv["vm33"]["kafka_broker_id"]


def _unknown_org(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm34"]["fabric_peer_organisation"] = "OrgMindray"


def _unknown_channel(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm34"]["fabric_peer_channels"] = ["datausagechannel", "researchchannel"]


def _third_party_on_patient_channel(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm34"]["fabric_peer_channels"] = ["patientchannel", "datausagechannel"]


def _government_leaves_patient_channel(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm33"]["fabric_peer_channels"] = ["datausagechannel"]


def _ca_not_served(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm33"]["fabric_ca_name"] = "ca2"


def _database_without_peer(hv: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    hv["vm37"] = {"ansible_host": "172.20.29.37"}
    groups["all"].append("vm37")
    groups["postgresql"].append("vm37")


def _service_without_peer(hv: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    hv["vm37"] = {"ansible_host": "172.20.29.37"}
    groups["all"].append("vm37")
    groups["sharing_proxy"].append("vm37")


def _stateful_service_without_database(_: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    groups["sharing_proxy"].append("vm34")


def _service_of_unknown_organisation(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    for values in hv.values():
        values["medledger_services"] = copy.deepcopy(values["medledger_services"])
        values["medledger_services"]["sharing_proxy"]["organisation"] = "OrgMinistry"


def _edit_everywhere(name: str, change: Callable[[Any], None]) -> Edit:
    """Change a global variable the same way on every host (each host holds its own copy)."""

    def edit(hostvars: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
        for values in hostvars.values():
            values[name] = copy.deepcopy(values[name])
            change(values[name])

    return edit


def _channels_with_third_parties_on_the_patient_channel(channels: Any) -> None:
    channels[0]["organisations"].append("OrgThirdParty")


def _registry_beside_an_orderer(_: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    groups["registry"].append("vm30")


def _dup_broker_id(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm33"]["kafka_broker_id"] = 0


def _no_anchor_for_third_parties(hv: dict[str, dict[str, Any]], _: dict[str, list[str]]) -> None:
    hv["vm34"].pop("fabric_peer_anchor")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_dup_address, "vm31: address 172.20.29.30 is also vm30's; give each host its own ansible_host"),
        (_dup_peer_name, "vm35: fabric_peer_name peermindray is also vm34's; each host in peers needs its own"),
        (_dup_broker_id, "vm33: kafka_broker_id 0 is also vm30's; each host in kafka needs its own"),
        (_even_zookeeper, "group zookeeper: 4 hosts (vm30, vm31, vm32, vm33); an ensemble needs an odd count"),
        (
            set_everywhere("medledger_kafka_replication_factor", 5),
            "group kafka: 4 brokers, fewer than medledger_kafka_replication_factor 5",
        ),
        (
            set_everywhere("medledger_kafka_min_insync_replicas", 3),
            "all: medledger_kafka_min_insync_replicas 3 is not below the replication factor 3",
        ),
        (
            set_everywhere("medledger_batch_timeout", "2 seconds"),
            "all: medledger_batch_timeout '2 seconds' is no duration; write it as 2s, 500ms or 1m",
        ),
        (
            set_everywhere("medledger_batch_preferred_max_bytes", 20971520),
            "all: medledger_batch_preferred_max_bytes 20971520 is above medledger_batch_absolute_max_bytes 10485760",
        ),
        (
            set_everywhere("medledger_batch_max_message_count", "100"),
            "all: medledger_batch_max_message_count, _preferred_max_bytes and _absolute_max_bytes must be positive",
        ),
        (
            _no_anchor_for_third_parties,
            "channel datausagechannel: organisation OrgThirdParty has no anchor peer, so other organisations' peers "
            "cannot find its peers; set fabric_peer_anchor: true on one of vm34, vm35, vm36",
        ),
        (
            _missing_var,
            "vm33: missing kafka_broker_id (required for hosts in group kafka); set it in host_vars/vm33.yml",
        ),
        (_unknown_org, "vm34: fabric_peer_organisation OrgMindray is not in medledger_organisations"),
        (_unknown_channel, "vm34: fabric_peer_channels names researchchannel, which is not in medledger_channels"),
        (
            _third_party_on_patient_channel,
            "vm34: joins patientchannel, but its organisation OrgThirdParty is not a member of it",
        ),
        (
            _government_leaves_patient_channel,
            "channel patientchannel: no peer of member organisation OrgGovernment joins it",
        ),
        (
            _ca_not_served,
            "medledger_organisations: OrgGovernment has ca 'ca1', which no host in group cas serves "
            "(fabric_ca_name: ca0, ca2)",
        ),
        (
            set_everywhere(
                "medledger_chaincodes",
                [{"name": "patient_data", "channel": "researchchannel", "version": "1", "port": 9999}],
            ),
            "medledger_chaincodes entry 1 (patient_data): channel 'researchchannel' is not in medledger_channels",
        ),
        (
            set_everywhere(
                "medledger_chaincodes",
                [
                    {"name": "patient_data", "channel": "patientchannel", "version": "1", "port": 9999},
                    {"name": "data_usage", "channel": "datausagechannel", "version": "1", "port": 9999},
                ],
            ),
            "medledger_chaincodes entry 2 (data_usage): name and port must differ from every other chaincode's",
        ),
        (
            set_everywhere(
                "medledger_chaincodes",
                [{"name": "patient_data", "channel": "patientchannel", "version": "1 0", "port": 80}],
            ),
            "medledger_chaincodes entry 1 (patient_data): version must be letters, digits and _ . + -",
        ),
        (
            _database_without_peer,
            "vm37: in group postgresql but runs no peer",
        ),
        (
            _edit_everywhere("medledger_channels", lambda channels: channels[0].update(name="Patient_Channel")),
            "channel Patient_Channel: Fabric refuses the name",
        ),
        (
            _edit_everywhere("medledger_organisations", lambda orgs: orgs[0].update(msp_id="Org Patient MSP")),
            "medledger_organisations: msp_id 'Org Patient MSP' is refused by Fabric as a configuration group name",
        ),
        (
            _edit_everywhere("medledger_chaincodes", lambda chaincodes: chaincodes[0].update(name="patient__data")),
            "medledger_chaincodes entry 1 (patient__data): Fabric refuses the name",
        ),
        (
            _edit_everywhere("medledger_channels", _channels_with_third_parties_on_the_patient_channel),
            "channel patientchannel: holds the patients' records (patient_data), but member OrgThirdParty is of "
            "kind thirdparty, which would read them",
        ),
        (
            _registry_beside_an_orderer,
            "vm30: port 8443 would be both fabric_orderer_operations_port and medledger_services.registry.port",
        ),
        (
            set_everywhere("fabric_peer_operations_port", 9999),
            "vm30: port 9999 would be both fabric_peer_operations_port and chaincode patient_data's port",
        ),
        (_service_without_peer, "vm37: in group sharing_proxy but runs no peer; services run beside a peer"),
        (
            _stateful_service_without_database,
            "vm34: in group sharing_proxy, which keeps its state in PostgreSQL; add it to postgresql",
        ),
        (
            _service_of_unknown_organisation,
            "medledger_services: sharing_proxy has organisation OrgMinistry, which is not in medledger_organisations",
        ),
        (
            set_everywhere("medledger_consensus", "solo"),
            "all: medledger_consensus is 'solo'; use one of kafka, etcdraft",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_each_mistake_is_named_with_its_fix(paper: Topology, edit: Edit, expected: str) -> None:
    errors = validate(edited(paper, edit))
    assert any(error.startswith(expected) for error in errors), errors
    assert all("\n" not in error for error in errors)


def test_an_operator_may_admit_another_kind_of_organisation_to_the_patient_channel_explicitly(
    paper: Topology,
) -> None:
    def admitted(channels: Any) -> None:
        _channels_with_third_parties_on_the_patient_channel(channels)
        channels[0]["admit_other_organisations"] = True

    assert not any(
        "would read them" in error
        for error in validate(edited(paper, _edit_everywhere("medledger_channels", admitted)))
    )


def test_raft_needs_neither_kafka_nor_zookeeper(paper: Topology) -> None:
    def raft_only(hostvars: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
        set_everywhere("medledger_consensus", "etcdraft")(hostvars, groups)
        groups["zookeeper"] = []
        groups["kafka"] = []

    assert validate(edited(paper, raft_only)) == []


def test_kafka_needs_a_fabric_release_that_has_it(paper: Topology) -> None:
    assert validate(paper, fabric_version="2.5.9") == []
    assert validate(paper, fabric_version="3.1.0") == [
        "all: medledger_consensus is kafka, but versions.yml pins Fabric 3.1.0, which has no Kafka ordering "
        "(removed in 3.0); use etcdraft or pin a 2.5 release"
    ]
    raft = edited(paper, set_everywhere("medledger_consensus", "etcdraft"))
    assert validate(raft, fabric_version="3.1.0") == []


def test_hosts_enrol_the_identities_of_their_groups(paper: Topology) -> None:
    def names(host: str) -> list[str]:
        return [identity.name for identity in host_identities(paper, host)]

    assert names("vm30") == [
        "peerxinqiao",
        "admin-orgpatient",
        "peerxinqiao-chaincode",
        "orderer0",
        "admin-orgorderer",
        "zookeeper1",
        "kafka0",
        "kafka-zookeeper-client",
        "peerxinqiao-postgresql",
        "peerxinqiao-hospital-manager",
        "peerxinqiao-storage",
        "peerxinqiao-seaweedfs",
        "svc-storage",
    ]
    assert names("vm33") == [
        "peergovernment",
        "admin-orggovernment",
        "peergovernment-chaincode",
        "kafka3",
        "kafka-zookeeper-client",
        "peergovernment-postgresql",
        "peergovernment-registry",
        "peergovernment-sharing-proxy",
        "svc-registry-orgpatient",
        "svc-registry-orgthirdparty",
        "svc-registry",
        "svc-proxy",
    ]
    assert "peermindray-postgresql" not in names("vm34")
    on_vm33 = {identity.name: identity for identity in host_identities(paper, "vm33")}
    https = on_vm33["peergovernment-registry"]
    assert (https.organisation, https.msp, https.tls, https.csr_hosts, https.services, https.runs_as) == (
        "OrgGovernment", True, True, ("vm33", "172.20.29.33"), ("medledger-registry",), "registry",
    )  # fmt: skip
    assert dict(on_vm33["peergovernment-sharing-proxy"].attributes) == {"medledger.proxy": "true"}
    # The registry's registrar at a hospital's CAs registers clients with a role, and nothing else.
    registrar = on_vm33["svc-registry-orgpatient"]
    assert (registrar.organisation, registrar.ca_server, registrar.runs_as) == ("OrgPatient", "ca0", "registry")
    assert registrar.services == ("medledger-registry",)
    assert dict(registrar.attributes) == {"hf.Registrar.Roles": "client", "hf.Registrar.Attributes": "medledger.role"}
    assert dict(registrar.tls_attributes) == {"hf.Registrar.Roles": "client"}
    database = next(identity for identity in host_identities(paper, "vm33") if identity.name.endswith("-postgresql"))
    assert (database.organisation, database.msp, database.tls, database.csr_hosts, database.runs_as) == (
        "OrgGovernment",
        False,
        True,
        ("localhost", "127.0.0.1"),
        "postgresql",
    )
    chaincode = next(identity for identity in host_identities(paper, "vm33") if identity.name.endswith("-chaincode"))
    assert (chaincode.msp, chaincode.tls, chaincode.csr_hosts) == (False, True, ("localhost", "127.0.0.1"))
    assert chaincode.services == ("medledger-chaincode@patient_data", "medledger-chaincode@data_usage")
    services = {identity.name: identity.services for identity in host_identities(paper, "vm33")}
    assert (services["peergovernment"], services["kafka3"], services["admin-orggovernment"]) == (
        ("fabric-peer",),
        ("kafka",),
        (),
    )
    kafka = next(identity for identity in host_identities(paper, "vm33") if identity.name == "kafka3")
    assert (kafka.msp, kafka.tls, kafka.organisation) == (False, True, "OrgOrderer")
    assert kafka.csr_hosts == ("kafka3", "vm33", "172.20.29.33")
    # One subject towards ZooKeeper for every broker (its ACLs name subjects), each with its host's names.
    towards_zookeeper = {
        host: next(identity for identity in host_identities(paper, host) if identity.name == "kafka-zookeeper-client")
        for host in paper.members("kafka")
    }
    assert {(i.organisation, i.msp, i.tls, i.services) for i in towards_zookeeper.values()} == {
        ("OrgOrderer", False, True, ("kafka",))
    }
    assert towards_zookeeper["vm33"].csr_hosts == ("vm33", "172.20.29.33")


def test_a_sharing_proxy_beside_a_hospitals_peer_is_still_the_governments(paper: Topology) -> None:
    """Threshold sharing puts proxies on several hosts; the Data Usage Channel admits the government's only."""

    def another_proxy(_: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
        groups["sharing_proxy"].append("vm31")

    spread = edited(paper, another_proxy)
    assert validate(spread) == []
    proxy = next(i for i in host_identities(spread, "vm31") if i.name == "peerkunyi-sharing-proxy")
    assert (proxy.organisation, proxy.ca_server, dict(proxy.attributes)) == (
        "OrgGovernment",
        "ca1",
        {"medledger.proxy": "true"},
    )
    manager = next(i for i in host_identities(spread, "vm31") if i.name == "peerkunyi-hospital-manager")
    assert manager.organisation == "OrgPatient"


def test_each_identitys_key_belongs_to_the_service_that_presents_it(paper: Topology) -> None:
    runs_as = {identity.name: identity.runs_as for identity in host_identities(paper, "vm30")}
    assert runs_as == {
        "peerxinqiao": "peer",
        "admin-orgpatient": "",  # root's: the admin CLIs run as root
        "peerxinqiao-chaincode": "chaincode",
        "orderer0": "orderer",
        "admin-orgorderer": "",
        "zookeeper1": "zookeeper",
        "kafka0": "kafka",
        "kafka-zookeeper-client": "kafka",
        "peerxinqiao-postgresql": "postgresql",
        "peerxinqiao-storage": "storage",
        "peerxinqiao-hospital-manager": "hospital_manager",
        "peerxinqiao-seaweedfs": "seaweedfs",
        "svc-storage": "",
    }
    kinds = set(paper.global_var("medledger_service_users"))
    assert {identity.runs_as for host in paper.hosts for identity in host_identities(paper, host)} - {""} <= kinds


def test_kafka_and_zookeeper_ports_open_only_to_the_ordering_service(paper: Topology) -> None:
    sources = {9093: ["orderers", "kafka"], 2281: ["kafka"], 2888: ["zookeeper"], 3888: ["zookeeper"]}
    on_vm30 = port_sources(sources, [22, 7050, 7051, 9093, 2281, 2888, 3888], paper.groups, paper.hostvars)
    brokers = ["172.20.29.30", "172.20.29.31", "172.20.29.32", "172.20.29.33"]
    ensemble = ["172.20.29.30", "172.20.29.31", "172.20.29.32"]
    assert on_vm30 == {2281: brokers, 2888: ensemble, 3888: ensemble, 9093: brokers}
    assert port_sources(sources, [22, 7051], paper.groups, paper.hostvars) == {}


def test_raft_ordering_enrols_no_broker_or_ensemble_identities(paper: Topology) -> None:
    raft = edited(paper, set_everywhere("medledger_consensus", "etcdraft"))
    assert [identity.name for identity in host_identities(raft, "vm33")] == [
        "peergovernment",
        "admin-orggovernment",
        "peergovernment-chaincode",
        "peergovernment-postgresql",
        "peergovernment-registry",
        "peergovernment-sharing-proxy",
        "svc-registry-orgpatient",
        "svc-registry-orgthirdparty",
        "svc-registry",
        "svc-proxy",
    ]


def test_ansibles_view_of_the_inventory_keeps_what_the_rules_read(paper: Topology) -> None:
    """Roles and the inventory check see the topology through from_ansible, which keeps only the
    variables the rules use: it must give the same identities and the same verdicts."""
    seen_by_ansible = from_ansible(paper.hostvars, paper.groups)
    for host in paper.hosts:
        assert host_identities(seen_by_ansible, host) == host_identities(paper, host), host
    broken = edited(paper, set_everywhere("medledger_chaincodes", [{"name": "x", "channel": "nowhere"}]))
    assert validate(from_ansible(broken.hostvars, broken.groups)) == validate(broken) != []


def test_each_identity_may_enrol_once_per_host_that_enrols_it(paper: Topology) -> None:
    """The bound of each enrolment secret (--id.maxenrollments): the hosts that enrol the identity."""
    counts = enrolment_counts(paper)
    several = {name: count for name, count in counts.items() if count != 1}
    assert several == {
        "admin-orgorderer": 3,  # orderer0-2 on vm30-32
        "admin-orgpatient": 3,  # peerxinqiao, peerkunyi, peerhuaxi
        "admin-orgthirdparty": 3,  # peermindray, peercqu, peerhealthcare
        "kafka-zookeeper-client": 4,  # every broker's host
    }
    every = {identity.name for host in paper.hosts for identity in host_identities(paper, host)}
    assert set(counts) == every
    assert counts["admin-orggovernment"] == counts["peermindray"] == counts["svc-proxy"] == counts["kafka3"] == 1
    raft = enrolment_counts(edited(paper, set_everywhere("medledger_consensus", "etcdraft")))
    assert "kafka-zookeeper-client" not in raft and max(raft.values()) == 3

    # One more hospital peer: its organisation's admin is enrolled once more.
    def add_peer(hostvars: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
        hostvars["vm37"] = {**hostvars["vm30"], "ansible_host": "172.20.29.37", "fabric_peer_name": "peerextra"}
        groups["peers"].append("vm37")
        groups["all"].append("vm37")

    assert enrolment_counts(edited(paper, add_peer))["admin-orgpatient"] == 4


def test_an_identity_several_hosts_enrol_is_registered_by_the_first_of_the_runs_hosts(paper: Topology) -> None:
    everywhere = first_enrolling_hosts(paper, paper.hosts)
    assert set(everywhere) == set(enrolment_counts(paper))
    assert everywhere["kafka-zookeeper-client"] == min(paper.groups["kafka"])
    hospital_peers = [host for host in paper.hosts if "admin-orgpatient" in names_enrolled(paper, host)]
    assert everywhere["admin-orgpatient"] == min(hospital_peers)
    # A run limited to one later host registers everything that host enrols, shared or not.
    later = max(hospital_peers)
    assert set(first_enrolling_hosts(paper, [later]).values()) == {later}
    assert set(first_enrolling_hosts(paper, [later])) == names_enrolled(paper, later)


def names_enrolled(paper: Topology, host: str) -> set[str]:
    return {identity.name for identity in host_identities(paper, host)}
