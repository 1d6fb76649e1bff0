"""Chaincode as a service on the cluster, Kafka ordering: each member organisation's chaincode Job (its admin)
installed the package that names its own chaincode servers on its peers and approved the definition; the channel's
first member committed it. A patient registered by its hospital's CA server, enrolled from here, writes a record
through a hospital peer's Gateway (the MAJORITY endorsement policy takes the government's peer and chaincode server
too) and the government's peer returns it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from medledger_api.entities import PatientDataEntity
from medledger_client.gateway import GatewayError
from medledger_tools.k8s.layout import Layout
from medledger_tools.lab_clients import signed_record
from tests.k8s.clients import GOVERNMENT_PEER, HOSPITAL_PEER, PATIENT_CHANNEL, gateway, new_patient
from tests.k8s.umbrella import Kubectl

pytestmark = pytest.mark.k8s

RECORD_VISIBLE_WITHIN = 30  # seconds for a block committed at one peer to reach another


@pytest.mark.usefixtures("release", "cluster_names")
def test_a_patients_record_is_written_through_a_hospital_peer_and_read_from_the_governments(
    layout: Layout, kubectl: Kubectl, pki: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    patient = new_patient(kubectl, tls_root)
    record = signed_record(patient.identity, "K-1", b"ciphertext")
    with gateway(layout, kubectl, HOSPITAL_PEER, patient, tls_root) as hospital:
        committed = hospital.contract(PATIENT_CHANNEL, "patient_data").submit("SavePatientData", record.to_json())
    assert committed.block > 0
    deadline = time.monotonic() + RECORD_VISIBLE_WITHIN
    with gateway(layout, kubectl, GOVERNMENT_PEER, patient, tls_root) as government:
        while True:
            try:
                stored = government.contract(PATIENT_CHANNEL, "patient_data").evaluate(
                    "QueryByPidAndTid", record.patient_pseudonym_id, "K-1"
                )
                break
            except GatewayError:
                assert time.monotonic() < deadline, f"the government's peer lacks block {committed.block}"
                time.sleep(1)
    assert PatientDataEntity.from_wire(json.loads(stored)) == record
