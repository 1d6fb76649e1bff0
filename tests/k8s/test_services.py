"""The hospital managers and the sharing proxy on the cluster (helm/hospital-manager, helm/sharing-proxy), with the
registry and the storage service: people registered through the registry book at a hospital and only their doctor
opens the TSK; a record sealed, stored and indexed on the Patient Channel is shared with a third party through the
government's proxy, who opens it, the use recorded on the Data Usage Channel; another third party's own identity
gets neither the appointment nor the share."""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from medledger_api.common import Role
from medledger_client import appointments, registration, sharing, storage
from medledger_client.records import open_record
from medledger_client.sealed_box import SealedBoxError
from medledger_client.service_client import ServiceError
from medledger_tools.k8s.layout import Layout
from medledger_tools.lab_services import Registered, sealed_record, store_and_index
from tests.k8s.clients import (
    GOVERNMENT_PEER,
    HOSPITAL,
    HOSPITAL_PEER,
    PATIENT_CHANNEL,
    THIRD_PARTY,
    gateway,
    ledger_user,
    registered,
    service_as,
    staff,
)
from tests.k8s.umbrella import Kubectl, helm_test, resolving_cluster_names
from tests.waiting import wait_until

pytestmark = pytest.mark.k8s

USAGE_CHANNEL = "datausagechannel"
HOSPITALS = ("peerxinqiao", "peerkunyi", "peerhuaxi")  # inventories/paper: a hospital manager beside each


@pytest.fixture(scope="module")
def people(release: str, layout: Layout, kubectl: Kubectl, pki: Path) -> dict[str, Registered]:
    tls_root = (pki / "tls-root.pem").read_bytes()
    with resolving_cluster_names(layout, kubectl):
        team = staff(kubectl, tls_root)
        hospital, third_party = (team["manager"], team["sa"]), (team["thirdparty_manager"], team["sa"])
        return {
            "patient": registered(tls_root, HOSPITAL, Role.PATIENT, *hospital),
            "doctor": registered(tls_root, HOSPITAL, Role.DOCTOR, *hospital),
            "mindray": registered(tls_root, THIRD_PARTY, Role.THIRD_PARTY, *third_party),
            "other_third_party": registered(tls_root, THIRD_PARTY, Role.THIRD_PARTY, *third_party),
        }


@pytest.mark.usefixtures("cluster_names")
def test_a_patient_books_at_each_hospital_and_only_its_doctor_opens_the_tsk(
    people: dict[str, Registered], pki: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    patient, doctor = people["patient"], people["doctor"]
    for site in HOSPITALS:
        booked = appointments.book(service_as("hospital_manager", patient.identity, tls_root, site), doctor.pid,
                                   f"chest pain, seen at {site}")  # fmt: skip
        seen = [found for found in appointments.mine(service_as("hospital_manager", doctor.identity, tls_root, site))
                if found.tid == booked.tid]  # fmt: skip
        assert len(seen) == 1 and seen[0].hospital == site
        tsk = appointments.open_tsk(doctor.identity.private_key, seen[0])
        assert (tsk.pid, tsk.disease) == (patient.pid, f"chest pain, seen at {site}")
        with pytest.raises(SealedBoxError):
            appointments.open_tsk(patient.identity.private_key, seen[0])
    # A third party's own user, registered by the registry with its role, books nothing at a hospital.
    with pytest.raises(ServiceError) as outsider:
        appointments.book(service_as("hospital_manager", people["mindray"].identity, tls_root), patient.pid, "any")
    assert outsider.value.status == 403


def usage_records(layout: Layout, kubectl: Kubectl, reader: Registered, tls_root: bytes, treatment: str) -> Any:
    """The usage records of the reader's (the patient's) treatment, as the government's peer has them."""
    with gateway(layout, kubectl, GOVERNMENT_PEER, ledger_user(reader), tls_root) as usage:
        return json.loads(
            usage.contract(USAGE_CHANNEL, "data_usage").evaluate("QueryByPidAndTid", reader.pid, treatment)
        )


@pytest.mark.usefixtures("cluster_names")
def test_a_record_is_shared_through_the_governments_proxy_and_its_use_recorded(
    people: dict[str, Registered], layout: Layout, kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    patient, doctor, mindray = people["patient"], people["doctor"], people["mindray"]
    treatment = f"treatment-{time.time_ns()}"
    ciphertext, plaintext, sealed = sealed_record(patient, tmp_path, size=65536)
    with gateway(layout, kubectl, HOSPITAL_PEER, ledger_user(patient), tls_root) as patients:
        record = store_and_index(service_as("storage", patient.identity, tls_root),
                                 patients.contract(PATIENT_CHANNEL, "patient_data"), patient=patient, doctor=doctor,
                                 treatment=treatment, ciphertext=ciphertext, digest=sealed.digest)  # fmt: skip
    receiver = registration.look_up(service_as("registry", patient.identity, tls_root), mindray.pid)
    shared = sharing.share(service_as("sharing_proxy", patient.identity, tls_root), patient.keys, receiver, treatment,
                           sealed.wrapped_key)  # fmt: skip
    patient_entry = registration.look_up(service_as("registry", mindray.identity, tls_root), patient.pid)
    # Another third party's own user, registered like the receiver, gets no delivery of it.
    other = people["other_third_party"]
    with pytest.raises(ServiceError) as refused:
        sharing.receive(service_as("sharing_proxy", other.identity, tls_root), shared.share_id, other.keys,
                        patient_entry)  # fmt: skip
    assert refused.value.status in {403, 404}
    received = sharing.receive(service_as("sharing_proxy", mindray.identity, tls_root), shared.share_id, mindray.keys,
                               patient_entry)  # fmt: skip
    assert received.record == record
    storage.fetch(service_as("storage", mindray.identity, tls_root), record.data_message_digest, tmp_path / "shared")
    sharing.check_ciphertext(received.record, tmp_path / "shared")
    open_record(tmp_path / "shared", received.data_key, tmp_path / "emr", tmp_path / "shr")
    assert (tmp_path / "emr").read_bytes() + (tmp_path / "shr").read_bytes() == plaintext
    # Bounded wait: the government's peer may not have the usage record's block yet.
    usage = wait_until(partial(usage_records, layout, kubectl, patient, tls_root, treatment), bool, seconds=60)
    assert [(entry["receiverPseudonymId"], entry["dataMessageDigest"]) for entry in usage] == [
        (mindray.pid, sealed.digest)
    ]


@pytest.mark.parametrize("hook", ["hospital-manager-answers", "sharing-proxy-answers"])
def test_helm_test_finds_each_hospital_manager_and_sharing_proxy_answering(
    release: str, layout: Layout, hook: str
) -> None:
    assert "refuses an unsigned request: OK" in helm_test(layout, hook)
