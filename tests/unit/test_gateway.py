"""The Gateway client against the in-process fake Gateway (fake_gateway.py) over mutual TLS."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from medledger_client import gateway as gateway_module
from medledger_client import identity
from medledger_client.gateway import CommitError, Endpoint, Gateway, GatewayError

from .certificates import issue
from .fake_gateway import Peer


def verify(client: identity.Identity, signature: bytes, message: bytes) -> None:
    client.private_key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_evaluate_sends_the_signed_proposal_and_returns_the_result(peer: Peer) -> None:
    with Gateway(peer.endpoint, peer.client) as gateway:
        result = gateway.contract("patientchannel", "patient_data").evaluate("ListByPid", "pat-0001")
    assert result == b"[]"
    request = peer.service.seen["evaluate"]
    assert request.channel_id == "patientchannel"
    verify(peer.client, request.proposed_transaction.signature, request.proposed_transaction.proposal_bytes)


def test_submit_signs_the_endorsed_transaction_and_waits_for_its_commit(peer: Peer) -> None:
    with Gateway(peer.endpoint, peer.client) as gateway:
        committed = gateway.contract("patientchannel", "patient_data").submit("SavePatientData", "{}")
    assert (committed.result, committed.block) == (b"saved", 7)
    seen = peer.service.seen
    assert committed.transaction_id == seen["endorse"].transaction_id == seen["submit"].transaction_id
    envelope = seen["submit"].prepared_transaction
    verify(peer.client, envelope.signature, envelope.payload)
    status = seen["commit_status"]
    verify(peer.client, status.signature, status.request)
    assert gateway_pb2.CommitStatusRequest.FromString(status.request).identity == peer.client.serialized()


def test_an_invalid_transaction_raises_with_its_validation_code(peer: Peer) -> None:
    peer.service.validation_code = transaction_pb2.MVCC_READ_CONFLICT
    with (
        Gateway(peer.endpoint, peer.client) as gateway,
        pytest.raises(CommitError, match="is MVCC_READ_CONFLICT in block 7"),
    ):
        gateway.contract("patientchannel", "patient_data").submit("SavePatientData", "{}")


def test_a_refusal_carries_the_peers_message(peer: Peer) -> None:
    peer.service.refuse_with = "chaincode response 500, submitter pat-0002 is not patient pat-0001"
    with Gateway(peer.endpoint, peer.client) as gateway, pytest.raises(GatewayError) as error:
        gateway.contract("patientchannel", "patient_data").submit("SavePatientData", "{}")
    assert error.value.code == grpc.StatusCode.ABORTED
    assert error.value.details == [
        "OrgPatientMSP peer0:7051: chaincode response 500, submitter pat-0002 is not patient pat-0001"
    ]
    assert "submit" not in peer.service.seen
    assert peer.service.endorsements == 1


def test_endorsing_peers_at_different_heights_are_asked_again_until_they_agree(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "ENDORSE_RETRY_DELAYS", (0.01, 0.01, 0.01))
    peer.service.disagreements = 2
    with Gateway(peer.endpoint, peer.client) as gateway:
        committed = gateway.contract("patientchannel", "patient_data").submit("SavePatientData", "{}")
    assert committed.result == b"saved"
    assert peer.service.endorsements == 3


def test_a_gateway_that_knows_no_endorsers_yet_is_asked_again(peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer just restarted knows no other organisation's peers until gossip finds them."""
    monkeypatch.setattr(gateway_module, "ENDORSE_RETRY_DELAYS", (0.01, 0.01, 0.01))
    peer.service.without_endorsers = 2
    with Gateway(peer.endpoint, peer.client) as gateway:
        assert gateway.contract("patientchannel", "patient_data").submit("SavePatientData", "{}").result == b"saved"
    assert peer.service.endorsements == 3


def test_peers_that_keep_disagreeing_fail_the_endorsement_after_the_last_retry(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "ENDORSE_RETRY_DELAYS", (0.01, 0.01))
    peer.service.disagreements = 10
    with Gateway(peer.endpoint, peer.client) as gateway, pytest.raises(GatewayError, match="do not match"):
        gateway.contract("patientchannel", "patient_data").submit("SavePatientData", "{}")
    assert peer.service.endorsements == 3
    assert "submit" not in peer.service.seen


def test_a_client_without_a_certificate_the_peer_trusts_is_refused(peer: Peer) -> None:
    stranger_tls = issue("stranger")
    endpoint = Endpoint(peer.endpoint.address, peer.endpoint.tls_ca, stranger_tls.certificate_pem, stranger_tls.key_pem)
    with Gateway(endpoint, peer.client, timeout=5) as gateway, pytest.raises(GatewayError) as error:
        gateway.contract("patientchannel", "patient_data").evaluate("ListByPid", "pat-0001")
    assert error.value.code == grpc.StatusCode.UNAVAILABLE
    assert "evaluate" not in peer.service.seen


def test_a_server_name_given_is_the_name_the_peers_certificate_must_carry(peer: Peer) -> None:
    """A peer reached by an address its certificate does not name (its pod's) is checked for the name given; here
    the certificate names only 127.0.0.1, so the name given is refused before any call."""
    endpoint = dataclasses.replace(peer.endpoint, server_name="peer0.medledger.test")
    with Gateway(endpoint, peer.client, timeout=5) as gateway, pytest.raises(GatewayError) as error:
        gateway.contract("patientchannel", "patient_data").evaluate("ListByPid", "pat-0001")
    assert error.value.code == grpc.StatusCode.UNAVAILABLE
    assert "evaluate" not in peer.service.seen
