"""The ledger end to end (the paper's Algorithm 1 and the two channels' chaincode), through peers' Gateways
with identities the CAs enrolled: writes by the right identity only, reads by channel members only."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from medledger_services import entities
from medledger_services.entities import DataUsageEntity, PatientDataEntity
from medledger_services.gateway import Contract, Gateway, GatewayError
from medledger_tools.lab_clients import Ledger, LedgerClient

from .conftest import ansible_run, deployed, lab_host

pytestmark = pytest.mark.lab

PATIENT_CHANNEL, USAGE_CHANNEL = "patientchannel", "datausagechannel"


LEDGER = Ledger(deployed())
channel_peers = LEDGER.channel_peers


def contract(gateway: Gateway, channel: str) -> Contract:
    return gateway.contract(channel, LEDGER.chaincode_on(channel))


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LedgerClient]:
    folder = tmp_path_factory.mktemp("clients")
    return {
        "patient": LEDGER.new_client("OrgPatient", folder, "pat"),
        "other_patient": LEDGER.new_client("OrgPatient", folder, "pat"),
        "proxy": LEDGER.new_client("OrgGovernment", folder, "test-proxy", {"medledger.proxy": "true"}),
        "researcher": LEDGER.new_client("OrgThirdParty", folder, "cqu"),
    }


@pytest.fixture
def patient_records(clients: dict[str, LedgerClient]) -> Iterator[Contract]:
    with clients["patient"].gateway(channel_peers(PATIENT_CHANNEL)[0]) as gateway:
        yield contract(gateway, PATIENT_CHANNEL)


def signed_record(client: LedgerClient, treatment: str, data: bytes = b"ciphertext") -> PatientDataEntity:
    return client.signed_record(treatment, data)


def records_of(records: Contract, pid: str) -> list[dict[str, Any]]:
    return list(json.loads(records.evaluate("ListByPid", pid)))


def test_chaincode_servers_listen_on_loopback_beside_each_channel_peer() -> None:
    for chaincode in deployed().global_var("medledger_chaincodes"):
        for host in channel_peers(chaincode["channel"]):
            machine = lab_host(host)
            assert machine.service(f"medledger-chaincode@{chaincode['name']}").is_running, host
            assert machine.socket(f"tcp://127.0.0.1:{chaincode['port']}").is_listening, host
            assert not machine.socket(f"tcp://0.0.0.0:{chaincode['port']}").is_listening, host
            committed = json.loads(
                machine.check_output(
                    f"medledger-peer-admin lifecycle chaincode querycommitted -C {chaincode['channel']} "
                    f"-n {chaincode['name']} --output json"
                )
            )
            assert committed["version"] == chaincode["version"], host
            assert all(committed["approvals"].values()), committed["approvals"]


def test_a_patient_saves_a_signed_record_and_every_patient_channel_peer_returns_it(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    record = signed_record(clients["patient"], "T-1")
    committed = patient_records.submit("SavePatientData", record.to_json())
    assert committed.block > 0
    pid = record.patient_pseudonym_id
    for host in channel_peers(PATIENT_CHANNEL):
        with clients["patient"].gateway(host) as gateway:
            stored = contract(gateway, PATIENT_CHANNEL).evaluate("QueryByPidAndTid", pid, "T-1")
        assert PatientDataEntity.from_wire(json.loads(stored)) == record, host


def test_a_third_party_cannot_read_the_patient_channel(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    pid = clients["patient"].identity.enrolment_id
    assert records_of(patient_records, pid), "the patient's record should be there to hide"
    with (
        clients["researcher"].gateway(channel_peers(PATIENT_CHANNEL)[0]) as gateway,
        pytest.raises(GatewayError) as refused,
    ):
        contract(gateway, PATIENT_CHANNEL).evaluate("ListByPid", pid)
    assert pid not in str(refused.value)
    assert "access denied" in str(refused.value).lower() or "permission" in str(refused.value).lower(), refused.value


def test_bad_records_are_refused_by_the_network_and_write_nothing(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    pid = clients["patient"].identity.enrolment_id
    before = records_of(patient_records, pid)
    duplicate = signed_record(clients["patient"], "T-1", b"other data")
    with clients["other_patient"].gateway(channel_peers(PATIENT_CHANNEL)[0]) as gateway:
        someone_else = contract(gateway, PATIENT_CHANNEL)
        cases = [
            (patient_records, duplicate.to_json(), f"a patientdata record for {pid}, T-1 already exists"),
            (someone_else, signed_record(clients["patient"], "T-2").to_json(), f"is not patient {pid}"),
            (patient_records, '{"treatmentId": ', "PatientDataEntity is not valid JSON"),
        ]
        for records, entity, reason in cases:
            with pytest.raises(GatewayError) as refused:
                records.submit("SavePatientData", entity)
            assert reason in str(refused.value)
    assert records_of(patient_records, pid) == before


def test_twenty_concurrent_writes_for_one_patient_all_commit(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    pid = clients["patient"].identity.enrolment_id
    treatments = [f"C-{n:02d}" for n in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        committed = list(
            pool.map(
                lambda tid: patient_records.submit("SavePatientData", signed_record(clients["patient"], tid).to_json()),
                treatments,
            )
        )
    assert len(committed) == 20
    stored = {record["treatmentId"] for record in records_of(patient_records, pid)}
    assert set(treatments) <= stored


def test_a_usage_record_is_visible_from_all_seven_peers(clients: dict[str, LedgerClient]) -> None:
    usage = DataUsageEntity(
        treatment_id="T-1",
        sender_pseudonym_id=clients["patient"].identity.enrolment_id,
        receiver_pseudonym_id=clients["researcher"].identity.enrolment_id,
        timestamp=int(time.time() * 1000),
        data_message_digest=entities.data_digest(b"ciphertext"),
    )
    with (
        clients["patient"].gateway(channel_peers(USAGE_CHANNEL)[0]) as gateway,
        pytest.raises(GatewayError, match="is not the sharing proxy"),
    ):
        contract(gateway, USAGE_CHANNEL).submit("SaveDataUsage", usage.to_json())
    government_peer = next(
        h for h in channel_peers(USAGE_CHANNEL) if deployed().peer_organisation(h) == "OrgGovernment"
    )
    with clients["proxy"].gateway(government_peer) as gateway:
        contract(gateway, USAGE_CHANNEL).submit("SaveDataUsage", usage.to_json())
    member = {"OrgPatient": "patient", "OrgGovernment": "proxy", "OrgThirdParty": "researcher"}
    assert len(channel_peers(USAGE_CHANNEL)) == 7
    for host in channel_peers(USAGE_CHANNEL):
        client = clients[member[deployed().peer_organisation(host)]]
        with client.gateway(host) as gateway:
            found = json.loads(contract(gateway, USAGE_CHANNEL).evaluate("ListByPid", usage.receiver_pseudonym_id))
        assert [DataUsageEntity.from_wire(record) for record in found] == [usage], host


def committed_definition(channel: str) -> dict[str, Any]:
    host = channel_peers(channel)[0]
    name = LEDGER.chaincode_on(channel)
    output = lab_host(host).check_output(
        f"medledger-peer-admin lifecycle chaincode querycommitted -C {channel} -n {name} --output json"
    )
    return dict(json.loads(output))


def with_version(channel: str, version: str) -> str:
    chaincodes = [
        {**chaincode, "version": version} if chaincode["channel"] == channel else chaincode
        for chaincode in deployed().global_var("medledger_chaincodes")
    ]
    return json.dumps({"medledger_chaincodes": chaincodes})


def test_a_new_version_is_committed_as_the_next_sequence_and_keeps_the_data(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    """Run last in this file: it upgrades the Patient Channel's chaincode, then puts the inventory's back."""
    before = committed_definition(PATIENT_CHANNEL)
    pid = clients["patient"].identity.enrolment_id
    records = records_of(patient_records, pid)
    upgrade = f"{before['version']}-upgrade-{secrets.token_hex(2)}"
    try:
        result = ansible_run("playbooks/chaincode.yml", "-e", with_version(PATIENT_CHANNEL, upgrade))
        assert result.returncode == 0, result.stdout[-3000:]
        after = committed_definition(PATIENT_CHANNEL)
        assert (after["version"], after["sequence"]) == (upgrade, before["sequence"] + 1)
        assert records_of(patient_records, pid) == records
        patient_records.submit("SavePatientData", signed_record(clients["patient"], "U-1").to_json())
    finally:
        restored = ansible_run("playbooks/chaincode.yml")
        assert restored.returncode == 0, restored.stdout[-3000:]
    assert committed_definition(PATIENT_CHANNEL)["version"] == before["version"]
