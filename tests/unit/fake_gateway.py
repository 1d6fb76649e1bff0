"""An in-process Gateway service over mutual TLS: a fake peer for unit tests only (the lab tests use
real peers). It records what it was sent and answers as a peer would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

from medledger_client import identity
from medledger_client.gateway import Endpoint

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


def invocation_args(signed: proposal_pb2.SignedProposal) -> list[bytes]:
    """The function and arguments a signed proposal invokes."""
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(
        proposal_pb2.Proposal.FromString(signed.proposal_bytes).payload
    )
    return list(chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec.input.args)


@dataclass
class FakeGateway(gateway_pb2_grpc.GatewayServicer):  # type: ignore[misc]
    validation_code: int = transaction_pb2.VALID
    refuse_with: str = ""
    seen: dict[str, Any] = field(default_factory=dict)
    # What a query returns, from its function and arguments; b"[]" when unset.
    answer: Callable[[list[bytes]], bytes] | None = None
    evaluated: list[list[bytes]] = field(default_factory=list)
    # How many endorsements still find the endorsing peers at different heights (their answers differ), and how
    # many still find no combination of known peers that meets the policy (a peer just restarted).
    disagreements: int = 0
    without_endorsers: int = 0
    endorsements: int = 0

    def _refuse(self, context: grpc.ServicerContext, message: str) -> None:
        detail = any_pb2.Any()
        detail.Pack(gateway_pb2.ErrorDetail(address="peer0:7051", msp_id="OrgPatientMSP", message=message))
        status = status_pb2.Status(code=code_pb2.ABORTED, message="failed to endorse transaction", details=[detail])
        context.abort_with_status(rpc_status.to_status(status))

    def Evaluate(
        self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext
    ) -> gateway_pb2.EvaluateResponse:
        self.seen["evaluate"] = request
        if self.refuse_with:
            self._refuse(context, self.refuse_with)
        args = invocation_args(request.proposed_transaction)
        self.evaluated.append(args)
        result = self.answer(args) if self.answer else b"[]"
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(status=200, payload=result))

    def Endorse(
        self, request: gateway_pb2.EndorseRequest, context: grpc.ServicerContext
    ) -> gateway_pb2.EndorseResponse:
        self.seen["endorse"] = request
        self.endorsements += 1
        if self.refuse_with:
            self._refuse(context, self.refuse_with)
        if self.disagreements:
            self.disagreements -= 1
            self._refuse(context, "ProposalResponsePayloads do not match")
        if self.without_endorsers:
            self.without_endorsers -= 1
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "no combination of peers can be derived which satisfy the endorsement policy: no peer combination "
                "can satisfy the endorsement policy",
            )
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


@contextmanager
def serve(tmp_path: Path) -> Iterator[Peer]:
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
