"""The ledger end to end (the paper's Algorithm 1 and the two channels' chaincode), through peers' Gateways
with identities the CAs enrolled: writes by the right identity only, reads by channel members only and,
within a channel, by role (patient, hospital staff, government, sender and receiver), and by clients through
the chaincode only (no blocks, events or system chaincode queries); lists page by page."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc

from medledger_api import entities
from medledger_api.entities import DataUsageEntity, PatientDataEntity
from medledger_client.gateway import Committed, Contract, Gateway, GatewayError
from medledger_client.listing import list_by_pid, list_page, pages
from medledger_tools.lab_clients import Ledger, LedgerClient, NewClient

from .conftest import ansible_run, deployed, lab_host
from .fabric_nodes import wait_until_every_peer_has

pytestmark = pytest.mark.lab

PATIENT_CHANNEL, USAGE_CHANNEL = "patientchannel", "datausagechannel"


LEDGER = Ledger(deployed())
channel_peers = LEDGER.channel_peers


def contract(gateway: Gateway, channel: str) -> Contract:
    return gateway.contract(channel, LEDGER.chaincode_on(channel))


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LedgerClient]:
    folder = tmp_path_factory.mktemp("clients")
    patient_pid = f"pat-{secrets.token_hex(4)}"
    wanted = {
        "patient": NewClient("OrgPatient", "pat", enrolment_id=patient_pid),
        "other_patient": NewClient("OrgPatient", "pat"),
        "staff": NewClient("OrgPatient", "staff", {"medledger.role": "staff"}),
        "auditor": NewClient("OrgGovernment", "gov"),
        "proxy": NewClient("OrgGovernment", "test-proxy", {"medledger.proxy": "true"}),
        "hospital_proxy": NewClient("OrgPatient", "svc", {"medledger.proxy": "true"}),
        "researcher": NewClient("OrgThirdParty", "cqu"),
        # OrgGovernment's CA enrols anyone it is asked to: here, under the patient's PID.
        "impostor": NewClient("OrgGovernment", "", enrolment_id=patient_pid),
    }
    return dict(zip(wanted, LEDGER.new_clients(folder, list(wanted.values())), strict=True))


@pytest.fixture
def patient_records(clients: dict[str, LedgerClient]) -> Iterator[Contract]:
    with clients["patient"].gateway(channel_peers(PATIENT_CHANNEL)[0]) as gateway:
        yield contract(gateway, PATIENT_CHANNEL)


def signed_record(client: LedgerClient, treatment: str, data: bytes = b"ciphertext") -> PatientDataEntity:
    return client.signed_record(treatment, data)


def records_of(records: Contract, pid: str) -> list[dict[str, Any]]:
    """Every record of the PID, page after page."""
    return list(list_by_pid(records, pid))


def save_all(client: LedgerClient, records: Contract, treatments: list[str]) -> list[Committed]:
    """The patient's records, the first alone (a PID's first record binds it to its hospital, so first
    writes of a new PID would conflict on that binding), the others concurrently."""
    first = records.submit("SavePatientData", signed_record(client, treatments[0]).to_json())
    with ThreadPoolExecutor(max_workers=20) as pool:
        rest = pool.map(
            lambda tid: records.submit("SavePatientData", signed_record(client, tid).to_json()), treatments[1:]
        )
        return [first, *rest]


def usage_record(sender: LedgerClient, receiver: LedgerClient, treatment: str) -> DataUsageEntity:
    return DataUsageEntity(
        treatment_id=treatment,
        sender_pseudonym_id=sender.identity.enrolment_id,
        receiver_pseudonym_id=receiver.identity.enrolment_id,
        timestamp=entities.now_ms(),
        data_message_digest=entities.data_digest(b"ciphertext"),
    )


def government_peer(channel: str) -> str:
    return next(h for h in channel_peers(channel) if deployed().peer_organisation(h) == "OrgGovernment")


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
    wait_until_every_peer_has(PATIENT_CHANNEL, committed.block, channel_peers(PATIENT_CHANNEL))
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
        list_page(contract(gateway, PATIENT_CHANNEL), pid)
    assert pid not in str(refused.value)
    assert "access denied" in str(refused.value).lower() or "permission" in str(refused.value).lower(), refused.value


def chaincode_events_refusal(client: LedgerClient, peer: str, channel: str) -> grpc.Call:
    """The Gateway's answer to the client asking for the chaincode's events (ChaincodeEvents, which our
    client library does not offer): the call's status once the stream fails."""
    address, chain = LEDGER.peer_endpoint(peer)
    tls = client.tls_folder
    credentials = grpc.ssl_channel_credentials(
        chain, (tls / "server.key").read_bytes(), (tls / "server.crt").read_bytes()
    )
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel, chaincode_id=LEDGER.chaincode_on(channel), identity=client.identity.serialized()
    ).SerializeToString()
    signed = gateway_pb2.SignedChaincodeEventsRequest(request=request, signature=client.identity.sign(request))
    with grpc.secure_channel(address, credentials) as connection:
        stream = gateway_pb2_grpc.GatewayStub(connection).ChaincodeEvents(signed, timeout=15)
        with pytest.raises(grpc.RpcError) as refused:
            next(iter(stream))
    return cast(grpc.Call, refused.value)


def test_a_members_client_reads_the_ledger_only_through_the_chaincode(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    """The channels' ACLs: the patient's client evaluates, submits and learns commit status (the tests
    above and below), but its peer refuses it the system chaincodes' blocks, transactions and configuration,
    the lifecycle's chaincode definitions and the Gateway's event stream, wherever the chaincode's check of
    who reads what could be bypassed. Blocks from the deliver services: test_channels.py."""
    patient, peer = clients["patient"], channel_peers(PATIENT_CHANNEL)[0]
    assert records_of(patient_records, patient.identity.enrolment_id), "the chaincode answers the patient"
    # System chaincode calls as the peer CLI makes them (qscc and cscc: the channel first; _lifecycle: one
    # serialised argument message, here empty).
    queries: list[tuple[str, str, tuple[str | bytes, ...]]] = [
        ("qscc", "GetChainInfo", (PATIENT_CHANNEL,)),
        ("qscc", "GetBlockByNumber", (PATIENT_CHANNEL, "1")),
        ("qscc", "GetTransactionByID", (PATIENT_CHANNEL, "0" * 64)),
        ("cscc", "GetConfigBlock", (PATIENT_CHANNEL,)),
        ("_lifecycle", "QueryChaincodeDefinitions", (b"",)),
    ]
    with patient.gateway(peer) as gateway:
        for chaincode, function, args in queries:
            reason = (
                "Failed to authorize invocation due to failed ACL check"
                if chaincode == "_lifecycle"
                else f"access denied for [{function}][{PATIENT_CHANNEL}]"
            )
            with pytest.raises(GatewayError, match=re.escape(reason)):
                gateway.contract(PATIENT_CHANNEL, chaincode).evaluate(function, *args)
    refused = chaincode_events_refusal(patient, peer, PATIENT_CHANNEL)
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED, (refused.code(), refused.details())


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
    treatments = [f"C-{n:02d}" for n in range(21)]
    committed = save_all(clients["patient"], patient_records, treatments)  # the first alone, then twenty
    assert len(committed) == 21
    stored = {record["treatmentId"] for record in records_of(patient_records, pid)}
    assert set(treatments) <= stored


def test_a_list_of_more_than_one_page_is_complete_through_its_bookmark(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    pid = clients["patient"].identity.enrolment_id
    if len(list_page(patient_records, pid, 5).records) < 5:
        save_all(clients["patient"], patient_records, [f"P-{n}" for n in range(5)])
    everything = list_page(patient_records, pid, 100)
    assert 5 <= everything.fetched < 100 and everything.last, (everything.fetched, everything.bookmark)
    paged = list(pages(patient_records, pid, 2))
    assert len(paged) == (everything.fetched + 1) // 2
    assert all(page.fetched == 2 and page.bookmark for page in paged[:-1])
    assert paged[-1].last
    assert [record for page in paged for record in page.records] == everything.records


def test_a_patient_cannot_read_another_patients_records_and_their_hospitals_staff_and_the_government_can(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    record = signed_record(clients["patient"], "R-1")
    patient_records.submit("SavePatientData", record.to_json())
    pid, peer = record.patient_pseudonym_id, channel_peers(PATIENT_CHANNEL)[0]  # the peer that reported the commit
    with clients["other_patient"].gateway(peer) as gateway:
        other = contract(gateway, PATIENT_CHANNEL)
        refusal = re.escape(f"submitter {clients['other_patient'].name} of OrgPatientMSP may not read patient {pid}'s")
        with pytest.raises(GatewayError, match=refusal):
            list_page(other, pid)
        with pytest.raises(GatewayError, match=refusal):
            other.evaluate("QueryByPidAndTid", pid, "R-1")
    for reader in ("staff", "auditor"):
        with clients[reader].gateway(peer) as gateway:
            records = contract(gateway, PATIENT_CHANNEL)
            stored = records.evaluate("QueryByPidAndTid", pid, "R-1")
            assert PatientDataEntity.from_wire(json.loads(stored)) == record, reader
            assert record.to_wire() in records_of(records, pid), reader
            assert records.evaluate("VerifyDigest", pid, "R-1", record.data_message_digest) == b"true", reader


def test_another_organisations_certificate_with_a_patients_pid_cannot_write_their_records(
    clients: dict[str, LedgerClient], patient_records: Contract
) -> None:
    impostor = clients["impostor"]
    pid = clients["patient"].identity.enrolment_id
    assert impostor.identity.enrolment_id == pid
    with (
        impostor.gateway(channel_peers(PATIENT_CHANNEL)[0]) as gateway,
        pytest.raises(GatewayError, match=re.escape(f"submitter {pid} of OrgGovernmentMSP is not a patient")),
    ):
        contract(gateway, PATIENT_CHANNEL).submit("SavePatientData", signed_record(impostor, "G-1").to_json())
    with pytest.raises(GatewayError, match=re.escape(f"no patientdata record for {pid}, G-1")):
        patient_records.evaluate("QueryByPidAndTid", pid, "G-1")


def test_a_backdated_record_is_refused(clients: dict[str, LedgerClient], patient_records: Contract) -> None:
    pid = clients["patient"].identity.enrolment_id
    ten_minutes_ago = entities.now_ms() - 10 * 60 * 1000
    backdated = dataclasses.replace(signed_record(clients["patient"], "B-1"), timestamp=ten_minutes_ago)
    with pytest.raises(GatewayError, match=r"before the transaction's .*: records are accepted within ±5m0s of it"):
        patient_records.submit("SavePatientData", backdated.to_json())
    with pytest.raises(GatewayError, match=re.escape(f"no patientdata record for {pid}, B-1")):
        patient_records.evaluate("QueryByPidAndTid", pid, "B-1")


def test_a_usage_record_is_visible_from_all_seven_peers(clients: dict[str, LedgerClient]) -> None:
    usage = usage_record(clients["patient"], clients["researcher"], "T-1")
    with (
        clients["patient"].gateway(channel_peers(USAGE_CHANNEL)[0]) as gateway,
        pytest.raises(GatewayError, match="is not the sharing proxy"),
    ):
        contract(gateway, USAGE_CHANNEL).submit("SaveDataUsage", usage.to_json())
    with clients["proxy"].gateway(government_peer(USAGE_CHANNEL)) as gateway:
        committed = contract(gateway, USAGE_CHANNEL).submit("SaveDataUsage", usage.to_json())
    wait_until_every_peer_has(USAGE_CHANNEL, committed.block, channel_peers(USAGE_CHANNEL))
    # Readers of the receiver's records: hospital staff, the government, the receiver themselves.
    member = {"OrgPatient": "staff", "OrgGovernment": "auditor", "OrgThirdParty": "researcher"}
    assert len(channel_peers(USAGE_CHANNEL)) == 7
    for host in channel_peers(USAGE_CHANNEL):
        client = clients[member[deployed().peer_organisation(host)]]
        with client.gateway(host) as gateway:
            found = list_by_pid(contract(gateway, USAGE_CHANNEL), usage.receiver_pseudonym_id)
            shares = [DataUsageEntity.from_wire(record) for record in found if record["treatmentId"] == "T-1"]
        assert shares == [usage], host


def test_a_second_share_of_one_record_is_a_second_record_that_only_its_parties_and_supervisors_read(
    clients: dict[str, LedgerClient],
) -> None:
    usage = usage_record(clients["patient"], clients["researcher"], "S-1")
    peer = government_peer(USAGE_CHANNEL)
    with clients["proxy"].gateway(peer) as gateway:
        shares = contract(gateway, USAGE_CHANNEL)
        first = shares.submit("SaveDataUsage", usage.to_json())
        second = shares.submit("SaveDataUsage", usage.to_json())
    assert first.transaction_id != second.transaction_id
    for reader, pid in (("patient", usage.sender_pseudonym_id), ("auditor", usage.receiver_pseudonym_id)):
        with clients[reader].gateway(peer) as gateway:
            found = json.loads(contract(gateway, USAGE_CHANNEL).evaluate("QueryByPidAndTid", pid, "S-1"))
        assert [DataUsageEntity.from_wire(record) for record in found] == [usage, usage], reader
    with (
        clients["other_patient"].gateway(peer) as gateway,
        pytest.raises(GatewayError, match=re.escape(f"may not read the usage records of {usage.sender_pseudonym_id}")),
    ):
        list_page(contract(gateway, USAGE_CHANNEL), usage.sender_pseudonym_id)


def test_a_hospital_identity_with_the_proxy_attribute_cannot_write_usage_records(
    clients: dict[str, LedgerClient],
) -> None:
    fake_proxy = clients["hospital_proxy"]
    usage = usage_record(clients["patient"], clients["researcher"], "H-1")
    with fake_proxy.gateway(channel_peers(USAGE_CHANNEL)[0]) as gateway:
        refusal = re.escape(f"submitter {fake_proxy.name} of OrgPatientMSP is not the sharing proxy: the proxy belongs")
        with pytest.raises(GatewayError, match=refusal):
            contract(gateway, USAGE_CHANNEL).submit("SaveDataUsage", usage.to_json())
    with clients["auditor"].gateway(government_peer(USAGE_CHANNEL)) as gateway:
        found = contract(gateway, USAGE_CHANNEL).evaluate("QueryByPidAndTid", usage.sender_pseudonym_id, "H-1")
    assert json.loads(found) == []


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
