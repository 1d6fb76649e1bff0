"""`helm upgrade` with a chaincode's new version, as the playbook upgrades it on the VMs: the inventory says 1.1, the
values are rendered again, and the upgrade rolls that chaincode's servers to the new package while each member's
chaincode Job installs and approves it and the channel's first member commits the next sequence. A record written
before is still there and the new servers endorse the next one. It changes the release: this module runs after
the others that read it (its name sorts after theirs, but for test_zookeeper, which does not look at chaincode)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from fabric_protos.peer.lifecycle import lifecycle_pb2

from medledger_api.entities import PatientDataEntity
from medledger_client.gateway import Gateway
from medledger_tools.k8s.cluster import artifact_bin
from medledger_tools.k8s.layout import Layout
from medledger_tools.lab_clients import signed_record
from tests.k8s.clients import HOSPITAL_PEER, PATIENT_CHANNEL, gateway, hospital_admin, new_patient
from tests.k8s.umbrella import ARTIFACTS, NAMESPACE, RELEASE, Kubectl, run

pytestmark = pytest.mark.k8s

CHAINCODE, NEW_VERSION = "patient_data", "1.1"
COMMITTED_WITHIN = 600  # seconds for the new servers, the members' Jobs and the commit


def definition(admin: Gateway) -> lifecycle_pb2.QueryChaincodeDefinitionResult:
    """The chaincode's committed definition, as the channel's lifecycle answers a member's admin."""
    arguments = lifecycle_pb2.QueryChaincodeDefinitionArgs(name=CHAINCODE).SerializeToString()
    answer = admin.contract(PATIENT_CHANNEL, "_lifecycle").evaluate("QueryChaincodeDefinition", arguments)
    return lifecycle_pb2.QueryChaincodeDefinitionResult.FromString(answer)


@pytest.mark.usefixtures("release", "cluster_names")
def test_a_new_chaincode_version_is_committed_as_the_next_sequence_and_keeps_the_data(
    layout: Layout, kubectl: Kubectl, pki: Path, values: Path, tmp_path: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    patient, admin = new_patient(kubectl, tls_root), hospital_admin(kubectl)
    before = signed_record(patient.identity, "U-1", b"before the upgrade")
    with gateway(layout, kubectl, HOSPITAL_PEER, patient, tls_root) as hospital:
        hospital.contract(PATIENT_CHANNEL, CHAINCODE).submit("SavePatientData", before.to_json())
    with gateway(layout, kubectl, HOSPITAL_PEER, admin, tls_root) as lifecycle:
        installed = definition(lifecycle)
    assert (installed.version, installed.sequence) == ("1.0", 1)

    upgraded = yaml.safe_load(values.read_text())
    for chaincode in upgraded["global"]["chaincodes"]:
        if chaincode["name"] == CHAINCODE:
            chaincode["version"] = NEW_VERSION
    (tmp_path / "upgraded.yaml").write_text(yaml.safe_dump(upgraded))
    helm = str(artifact_bin(ARTIFACTS, "helm") / "helm")
    run(helm, f"--kubeconfig={layout.admin_kubeconfig}", "upgrade", RELEASE, "helm/medledger",
        "--namespace", NAMESPACE, "--values", str(tmp_path / "upgraded.yaml"))  # fmt: skip
    kubectl("--namespace", NAMESPACE, "wait", "--for=condition=complete", "job",
            "--selector=app.kubernetes.io/name=peer", f"--timeout={COMMITTED_WITHIN}s")  # fmt: skip
    for organisation in ("orgpatient", "orggovernment"):  # the new servers, the old ones gone
        kubectl("--namespace", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}-{organisation}-patient-data",
                f"--timeout={COMMITTED_WITHIN}s")  # fmt: skip

    with gateway(layout, kubectl, HOSPITAL_PEER, admin, tls_root) as lifecycle:
        deadline = time.monotonic() + 30  # the commit's block reaches this peer
        while (committed := definition(lifecycle)).version != NEW_VERSION:
            assert time.monotonic() < deadline, f"{CHAINCODE} is still {committed.version} at {HOSPITAL_PEER}"
            time.sleep(1)
    assert committed.sequence == 2
    with gateway(layout, kubectl, HOSPITAL_PEER, patient, tls_root) as hospital:
        records = hospital.contract(PATIENT_CHANNEL, CHAINCODE)
        stored = records.evaluate("QueryByPidAndTid", before.patient_pseudonym_id, "U-1")
        assert PatientDataEntity.from_wire(json.loads(stored)) == before
        after = signed_record(patient.identity, "U-2", b"after the upgrade")
        assert records.submit("SavePatientData", after.to_json()).block > 0
