"""The Gateway client against an in-process Gateway service over mutual TLS (a fake peer: unit test only;
the lab tests use real peers)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

from medledger_services import identity
from medledger_services.gateway import CommitError, Endpoint, Gateway, GatewayError

from .certificates import issue
from .test_identity_and_proposal import msp_folder


def prepared_transaction(result: bytes) -> common_pb2.Envelope:
    """An endorsed transaction as the Gateway returns it, the chaincode's result deep inside."""
    extension = proposal_pb2.ChaincodeAction(response=proposal_response_pb2.Response(status=200, payload=result))
    response_payload = proposal_response_pb2.ProposalResponsePayload(extension=extension.SerializeToString())
    action = transaction_pb2.ChaincodeActionPayload(
        action=transaction_pb2.ChaincodeEndorsedAction(proposal_response_payload=response_payload.SerializeToString())
    )
    transaction = transaction_pb2.Transaction(
        actions=[transaction_pb2.TransactionAction(payload=action.SerializeToString())]
    )
    payload = common_pb2.Payload(data=transaction.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString())


@dataclass
class FakeGateway(gateway_pb2_grpc.GatewayServicer):  # type: ignore[misc]
    validation_code: int = transaction_pb2.VALID
    refuse_with: str = ""
    seen: dict[str, Any] = field(default_factory=dict)

    def _refuse(self, context: grpc.ServicerContext) -> None:
        detail = any_pb2.Any()
        detail.Pack(gateway_pb2.ErrorDetail(address="peer0:7051", msp_id="OrgPatientMSP", message=self.refuse_with))
        status = status_pb2.Status(code=code_pb2.ABORTED, message="failed to endorse transaction", details=[detail])
        context.abort_with_status(rpc_status.to_status(status))

    def Evaluate(
        self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext
    ) -> gateway_pb2.EvaluateResponse:
        self.seen["evaluate"] = request
        if self.refuse_with:
            self._refuse(context)
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(status=200, payload=b"[]"))

    def Endorse(
        self, request: gateway_pb2.EndorseRequest, context: grpc.ServicerContext
    ) -> gateway_pb2.EndorseResponse:
        self.seen["endorse"] = request
        if self.refuse_with:
            self._refuse(context)
        return gateway_pb2.EndorseResponse(prepared_transaction=prepared_transaction(b"saved"))

    def Submit(self, request: gateway_pb2.SubmitRequest, context: grpc.ServicerContext) -> gateway_pb2.SubmitResponse:
        self.seen["submit"] = request
        return gateway_pb2.SubmitResponse()

    def CommitStatus(
        self, request: gateway_pb2.SignedCommitStatusRequest, context: grpc.ServicerContext
    ) -> gateway_pb2.CommitStatusResponse:
        self.seen["commit_status"] = request
        return gateway_pb2.CommitStatusResponse(result=self.validation_code, block_number=7)


@dataclass(frozen=True)
class Peer:
    service: FakeGateway
    endpoint: Endpoint
    client: identity.Identity


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    tls_ca = issue("tls-ca", ca=True)
    server_tls, client_tls = issue("peer0", tls_ca, address="127.0.0.1"), issue("client", tls_ca)
    service = FakeGateway()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    gateway_pb2_grpc.add_GatewayServicer_to_server(service, server)
    credentials = grpc.ssl_server_credentials(
        [(server_tls.key_pem, server_tls.certificate_pem)],
        root_certificates=tls_ca.certificate_pem,
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    client = identity.from_msp_folder(msp_folder(tmp_path, issue("pat-0001")), "OrgPatientMSP")
    endpoint = Endpoint(f"127.0.0.1:{port}", tls_ca.certificate_pem, client_tls.certificate_pem, client_tls.key_pem)
    yield Peer(service, endpoint, client)
    server.stop(grace=None)


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


def test_a_client_without_a_certificate_the_peer_trusts_is_refused(peer: Peer) -> None:
    stranger_tls = issue("stranger")
    endpoint = Endpoint(peer.endpoint.address, peer.endpoint.tls_ca, stranger_tls.certificate_pem, stranger_tls.key_pem)
    with Gateway(endpoint, peer.client, timeout=5) as gateway, pytest.raises(GatewayError) as error:
        gateway.contract("patientchannel", "patient_data").evaluate("ListByPid", "pat-0001")
    assert error.value.code == grpc.StatusCode.UNAVAILABLE
    assert "evaluate" not in peer.service.seen
