"""medledger-helm-values: the umbrella chart's values come from the inventory and from nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medledger_tools import helm_values, topology
from medledger_tools.paths import REPO_ROOT

INVENTORIES = REPO_ROOT / "inventories"


def test_the_papers_topology_becomes_the_umbrellas_values(paper: topology.Topology) -> None:
    values = helm_values.render(paper)
    assert values["global"]["consensus"] == "kafka"
    assert [org["mspId"] for org in values["global"]["organisations"]] == [
        "OrgPatientMSP", "OrgGovernmentMSP", "OrgThirdPartyMSP", "OrgOrdererMSP",
    ]  # fmt: skip
    channels = {channel["name"]: channel["organisations"] for channel in values["global"]["channels"]}
    assert channels["patientchannel"] == ["OrgPatient", "OrgGovernment"]
    assert (values["zookeeper"]["replicaCount"], values["kafka"]["replicaCount"]) == (3, 4)
    assert (values["orderer"]["replicaCount"], values["orderer"]["kafkaBrokers"]) == (3, 4)
    assert values["kafka"]["clients"] == ["orderer-0", "orderer-1", "orderer-2"], "the orderers, and nobody else"
    assert values["orderer"]["batch"] == {
        "timeout": "2s", "maxMessageCount": 100, "preferredMaxBytes": 524288, "absoluteMaxBytes": 10485760,
    }  # fmt: skip
    peers = {peer["name"]: peer for peer in values["peer"]["peers"]}
    assert len(peers) == 7 and peers["peergovernment"]["organisation"] == "OrgGovernment"
    assert {server["name"]: server["organisations"] for server in values["fabric-ca"]["servers"]} == {
        "ca0": ["OrgPatient", "OrgOrderer"], "ca1": ["OrgGovernment", "OrgThirdParty"],
    }  # fmt: skip


def test_each_ordering_pod_is_registered_in_the_orderer_organisation(paper: topology.Topology) -> None:
    registrations = helm_values.render(paper)["fabric-ca"]["registrations"]
    ordering = ("orderer-", "zookeeper-", "kafka-")
    tls = [item for item in registrations if item["ca"] == "tlsca-ca0" and item["name"].startswith(ordering)]
    assert [(item["name"], item["enrolments"]) for item in tls] == [
        *((f"orderer-{ordinal}", 1) for ordinal in range(3)),
        *((f"zookeeper-{ordinal}", 1) for ordinal in range(3)),
        *((f"kafka-{ordinal}", 1) for ordinal in range(4)),
        ("kafka-zookeeper-client", 4),  # each of the 4 brokers enrols the subject they share towards ZooKeeper
    ]
    assert {(item["server"], item["type"], item["affiliation"]) for item in tls} == {("ca0", "client", "orgorderer")}
    # An orderer signs blocks with an MSP identity whose role (NodeOU) is `orderer`, from its organisation's CA.
    msps = [item for item in registrations if item["ca"] == "ca-orgorderer"]
    assert [(item["name"], item["ca"], item["type"]) for item in msps] == [
        (f"orderer-{ordinal}", "ca-orgorderer", "orderer") for ordinal in range(3)
    ]


def test_the_raft_overlay_turns_kafka_and_zookeeper_off() -> None:
    values = helm_values.render(topology.load(str(INVENTORIES / "paper"), str(INVENTORIES / "raft")))
    assert values["global"]["consensus"] == "etcdraft"
    assert values["kafka"]["enabled"] is False and values["zookeeper"]["enabled"] is False
    names = {item["name"] for item in values["fabric-ca"]["registrations"]}
    assert not {name for name in names if name.startswith(("zookeeper", "kafka"))}, "no ZooKeeper or Kafka pods"
    assert {"orderer-0", "orderer-1", "orderer-2"} <= names
    assert values["kafka"]["clients"] == []


def test_a_broken_inventory_renders_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    (broken / "group_vars").mkdir(parents=True)
    (broken / "hosts.yml").write_text((INVENTORIES / "paper" / "hosts.yml").read_text())
    settings = yaml.safe_load((INVENTORIES / "paper" / "group_vars" / "all.yml").read_text())
    settings["medledger_channels"][0]["organisations"].append("OrgNobody")
    (broken / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (broken / "host_vars").symlink_to(INVENTORIES / "paper" / "host_vars")
    output = tmp_path / "values.yaml"
    assert helm_values.main([str(broken), "-o", str(output)]) == 1
    assert "OrgNobody" in capsys.readouterr().err
    assert not output.exists()


def test_the_written_file_says_where_it_comes_from(tmp_path: Path) -> None:
    output = tmp_path / "values.yaml"
    assert helm_values.main([str(INVENTORIES / "paper"), "-o", str(output)]) == 0
    assert output.read_text().startswith("# Rendered by medledger-helm-values from ")
    assert yaml.safe_load(output.read_text())["peer"]["peers"][0]["name"] == "peerxinqiao"


def test_each_peer_and_each_peer_organisations_admin_is_registered_at_its_own_organisations_cas(
    paper: topology.Topology,
) -> None:
    registrations = helm_values.render(paper)["fabric-ca"]["registrations"]
    found = {(item["name"], item["ca"], item["type"]) for item in registrations}
    # A hospital's CA server (ca0) is the ordering service's; the government's and third parties' is ca1.
    assert {
        ("peerxinqiao-0", "tlsca-ca0", "client"),
        ("peerxinqiao-0", "ca-orgpatient", "peer"),
        ("peermindray-0", "tlsca-ca1", "client"),
        ("peermindray-0", "ca-orgthirdparty", "peer"),
        ("orggovernment-admin", "tlsca-ca1", "client"),
        ("orggovernment-admin", "ca-orggovernment", "admin"),
    } <= found
    assert len([name for name, _ca, kind in found if kind == "peer"]) == 7
    assert not {name for name, _ca, _kind in found if name == "orgorderer-admin"}, "no admin pod for the orderers yet"


def test_each_member_organisations_chaincode_servers_are_registered_at_its_tls_ca(paper: topology.Topology) -> None:
    values = helm_values.render(paper)
    assert values["global"]["chaincodes"] == [
        {"name": "patient_data", "channel": "patientchannel", "version": "1.0", "port": 9999},
        {"name": "data_usage", "channel": "datausagechannel", "version": "1.0", "port": 9998},
    ]
    servers = {(item["name"], item["ca"], item["type"]) for item in values["fabric-ca"]["registrations"]
               if item["name"].endswith(("-patient-data", "-data-usage"))}  # fmt: skip
    assert servers == {
        ("orgpatient-patient-data", "tlsca-ca0", "client"),
        ("orggovernment-patient-data", "tlsca-ca1", "client"),
        ("orgpatient-data-usage", "tlsca-ca0", "client"),
        ("orggovernment-data-usage", "tlsca-ca1", "client"),
        ("orgthirdparty-data-usage", "tlsca-ca1", "client"),
    }, "the third party serves no chaincode of the Patient Channel"


def test_the_storage_service_its_database_and_its_store_run_beside_the_peer_the_inventory_puts_them_beside(
    paper: topology.Topology,
) -> None:
    values = helm_values.render(paper)
    assert values["storage"]["instances"] == [
        {"name": "peerxinqiao", "organisation": "OrgPatient", "proxyMspId": "OrgGovernmentMSP"}
    ]
    assert values["postgresql"]["servers"] == [
        {"name": "peergovernment", "organisation": "OrgGovernment", "databases": ["registry", "sharing_proxy"]},
        {"name": "peerxinqiao", "organisation": "OrgPatient", "databases": ["hospital_manager", "storage"]},
        {"name": "peerkunyi", "organisation": "OrgPatient", "databases": ["hospital_manager"]},
        {"name": "peerhuaxi", "organisation": "OrgPatient", "databases": ["hospital_manager"]},
    ], "a server beside each peer with services that keep state there, with their databases"
    assert values["seaweedfs"]["stores"] == [{"name": "peerxinqiao", "organisation": "OrgPatient"}]
    identities = {(item["name"], item["ca"], item["type"]) for item in values["fabric-ca"]["registrations"]}
    assert {("postgresql-peerxinqiao-0", "tlsca-ca0", "client"), ("seaweedfs-peerxinqiao-0", "tlsca-ca0", "client"),
            ("storage-peerxinqiao", "tlsca-ca0", "client")} <= identities  # fmt: skip


def test_a_second_storage_host_gets_its_own_database_and_store(tmp_path: Path) -> None:
    overlay = tmp_path / "second"
    overlay.mkdir()
    (overlay / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"storage": {"hosts": {"vm33": None}}}}}))
    values = helm_values.render(topology.load(str(INVENTORIES / "paper"), str(overlay)))
    assert [site["name"] for site in values["storage"]["instances"]] == ["peerxinqiao", "peergovernment"]
    assert values["postgresql"]["servers"][0] == {
        "name": "peergovernment",
        "organisation": "OrgGovernment",
        "databases": ["registry", "storage", "sharing_proxy"],
    }
    assert [store["name"] for store in values["seaweedfs"]["stores"]] == ["peerxinqiao", "peergovernment"]


def test_the_registry_runs_beside_the_governments_peer_with_a_registrar_at_each_registered_organisations_cas(
    paper: topology.Topology,
) -> None:
    values = helm_values.render(paper)
    assert values["registry"]["instances"] == [
        {
            "name": "peergovernment",
            "organisation": "OrgGovernment",
            "approverMspId": "OrgGovernmentMSP",
            "registrars": [
                {"organisation": "OrgPatient", "mspId": "OrgPatientMSP", "roles": ["patient", "doctor"]},
                {"organisation": "OrgThirdParty", "mspId": "OrgThirdPartyMSP", "roles": ["thirdparty"]},
            ],
        }
    ]
    registrations = values["fabric-ca"]["registrations"]
    registrar = [item for item in registrations if item["name"] == "registry-peergovernment-orgpatient"]
    assert [(item["server"], item["ca"], item["type"], item["attributes"]) for item in registrar] == [
        ("ca0", "ca-orgpatient", "client", topology.REGISTRAR_ATTRIBUTES),
        ("ca0", "tlsca-ca0", "client", topology.REGISTRAR_TLS_ATTRIBUTES),
    ], "it registers clients with a role at the hospital's CA, and their TLS identities at its TLS CA"
    assert not [item for item in registrations if item["name"].startswith("registry-peergovernment-orggovernment")]
    assert {"name": "registry-peergovernment", "server": "ca1", "ca": "tlsca-ca1", "type": "client",
            "affiliation": "orggovernment", "enrolments": 1} in registrations  # fmt: skip


def test_the_hospital_managers_and_the_sharing_proxy_sign_with_enrolments_of_their_own(
    paper: topology.Topology,
) -> None:
    values = helm_values.render(paper)
    assert [site["name"] for site in values["hospital-manager"]["instances"]] == [
        "peerxinqiao",
        "peerkunyi",
        "peerhuaxi",
    ]
    assert values["sharing-proxy"]["storage"] == {"name": "peerxinqiao", "organisation": "OrgPatient", "port": 8445}
    registrations = values["fabric-ca"]["registrations"]
    proxy = [item for item in registrations if item["name"] == "sharing-proxy-peergovernment"]
    assert [(item["ca"], item.get("attributes")) for item in proxy] == [
        ("tlsca-ca1", None),
        ("ca-orggovernment", {"medledger.proxy": "true"}),
    ], "the Data Usage Channel takes usage records from the government's medledger.proxy identities alone"
    assert not [item for item in registrations if item["name"].startswith("storage-") and item["ca"].startswith("ca-")]
