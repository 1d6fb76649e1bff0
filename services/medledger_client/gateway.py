"""A client of Fabric's Gateway gRPC API (peer port, mutual TLS): evaluate, endorse, submit, commit status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from grpc_status import rpc_status

from . import proposal
from .identity import Identity

# A block can hold a few MiB of records; the peer's own limit is 100 MiB.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024

# Two passing states the Gateway reports as a failed endorsement; asking again a few times over seconds rides
# them out, and what persists (non-deterministic chaincode, an organisation down) still fails:
# - peers of two organisations endorse at their own heights: right after a commit, one that has not yet got
#   the block reads older versions and their answers differ, until the block reaches it;
# - a peer that has just restarted knows no other organisation's peers until gossip finds them again, and
#   until then no combination of known peers meets the endorsement policy.
ENDORSE_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
PEERS_DISAGREE = "ProposalResponsePayloads do not match"
NO_ENDORSERS_YET = "no combination of peers can be derived"


def passing(error: GatewayError) -> bool:
    """Whether a refused endorsement is one of the passing states above."""
    if error.code == grpc.StatusCode.FAILED_PRECONDITION and NO_ENDORSERS_YET in error.message:
        return True
    return any(PEERS_DISAGREE in detail for detail in error.details)


class GatewayError(Exception):
    """A call the Gateway refused or could not complete: the gRPC code, its message and the peers' details."""

    def __init__(self, code: grpc.StatusCode, message: str, details: list[str]) -> None:
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{code.name}: {message}" + "".join(f"\n  {detail}" for detail in details))


class CommitError(Exception):
    """A transaction that was ordered but that the peers marked invalid (e.g. MVCC_READ_CONFLICT)."""

    def __init__(self, transaction_id: str, status: str, block: int) -> None:
        self.transaction_id, self.status, self.block = transaction_id, status, block
        super().__init__(f"transaction {transaction_id} is {status} in block {block}")


@dataclass(frozen=True)
class Endpoint:
    """A peer's Gateway: host:port, the TLS CA chain its certificate verifies against, and the client's
    own TLS certificate and key (peers require client certificates). server_name: the name its certificate
    must carry when the address is not it (a peer reached by its pod's or a proxy's address)."""

    address: str
    tls_ca: bytes
    client_certificate: bytes
    client_key: bytes = field(repr=False)
    server_name: str | None = None

    @classmethod
    def from_files(cls, address: str, tls_ca: Path, client_certificate: Path, client_key: Path) -> Endpoint:
        return cls(address, tls_ca.read_bytes(), client_certificate.read_bytes(), client_key.read_bytes())


@dataclass(frozen=True)
class Committed:
    transaction_id: str
    block: int
    result: bytes


def endorsed_result(envelope: common_pb2.Envelope) -> bytes:
    """The chaincode's return value inside an endorsed, not yet submitted, transaction."""
    payload = common_pb2.Payload.FromString(envelope.payload)
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    action = transaction_pb2.ChaincodeActionPayload.FromString(transaction.actions[0].payload).action
    response = proposal_response_pb2.ProposalResponsePayload.FromString(action.proposal_response_payload)
    return bytes(proposal_pb2.ChaincodeAction.FromString(response.extension).response.payload)


def _gateway_error(error: grpc.RpcError) -> GatewayError:
    call: grpc.Call = error  # type: ignore[assignment]
    details: list[str] = []
    status = rpc_status.from_call(call)
    for detail in status.details if status else []:
        info = gateway_pb2.ErrorDetail()
        if detail.Unpack(info):
            details.append(f"{info.msp_id} {info.address}: {info.message}")
    return GatewayError(call.code(), call.details() or "", details)


class Gateway:
    """One connection to one peer's Gateway, used by many contracts and calls (thread-safe)."""

    def __init__(self, endpoint: Endpoint, identity: Identity, timeout: float = 30.0) -> None:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=endpoint.tls_ca,
            private_key=endpoint.client_key,
            certificate_chain=endpoint.client_certificate,
        )
        options: list[tuple[str, int | str]] = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ]
        if endpoint.server_name:
            options.append(("grpc.ssl_target_name_override", endpoint.server_name))
        self.identity = identity
        self.timeout = timeout
        self._channel = grpc.secure_channel(endpoint.address, credentials, options)
        self._stub = gateway_pb2_grpc.GatewayStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def contract(self, channel: str, chaincode: str) -> Contract:
        return Contract(self, channel, chaincode)

    @contextmanager
    def _call(self) -> Iterator[None]:
        try:
            yield
        except grpc.RpcError as error:
            raise _gateway_error(error) from None

    def evaluate(self, prepared: proposal.Proposal) -> bytes:
        request = gateway_pb2.EvaluateRequest(
            transaction_id=prepared.transaction_id, channel_id=prepared.channel, proposed_transaction=prepared.signed
        )
        with self._call():
            response = self._stub.Evaluate(request, timeout=self.timeout)
        return bytes(response.result.payload)

    def endorse(self, prepared: proposal.Proposal) -> gateway_pb2.EndorseResponse:
        """Collect the endorsements the policy asks for; again while the failure is a passing one (see
        ENDORSE_RETRY_DELAYS): the same signed proposal, so the transaction ID stays."""
        request = gateway_pb2.EndorseRequest(
            transaction_id=prepared.transaction_id, channel_id=prepared.channel, proposed_transaction=prepared.signed
        )
        for delay in ENDORSE_RETRY_DELAYS:
            try:
                return self._endorse_once(request)
            except GatewayError as error:
                if not passing(error):
                    raise
            time.sleep(delay)
        return self._endorse_once(request)

    def _endorse_once(self, request: gateway_pb2.EndorseRequest) -> gateway_pb2.EndorseResponse:
        with self._call():
            return self._stub.Endorse(request, timeout=self.timeout)

    def submit(self, prepared: proposal.Proposal, endorsed: gateway_pb2.EndorseResponse) -> None:
        envelope = endorsed.prepared_transaction
        envelope.signature = self.identity.sign(envelope.payload)
        request = gateway_pb2.SubmitRequest(
            transaction_id=prepared.transaction_id, channel_id=prepared.channel, prepared_transaction=envelope
        )
        with self._call():
            self._stub.Submit(request, timeout=self.timeout)

    def commit_status(self, prepared: proposal.Proposal, timeout: float) -> tuple[str, int]:
        """Wait until the transaction is in a block; its validation code's name and the block number."""
        request_bytes = gateway_pb2.CommitStatusRequest(
            transaction_id=prepared.transaction_id, channel_id=prepared.channel, identity=self.identity.serialized()
        ).SerializeToString()
        signed = gateway_pb2.SignedCommitStatusRequest(
            request=request_bytes, signature=self.identity.sign(request_bytes)
        )
        with self._call():
            response = self._stub.CommitStatus(signed, timeout=timeout)
        return transaction_pb2.TxValidationCode.Name(response.result), int(response.block_number)


class Contract:
    """A chaincode on a channel, called through a Gateway."""

    def __init__(self, gateway: Gateway, channel: str, chaincode: str) -> None:
        self.gateway, self.channel, self.chaincode = gateway, channel, chaincode

    def _proposal(self, function: str, args: tuple[str | bytes, ...]) -> proposal.Proposal:
        encoded = [arg.encode() if isinstance(arg, str) else arg for arg in args]
        return proposal.build(self.gateway.identity, self.channel, self.chaincode, function, encoded)

    def evaluate(self, function: str, *args: str | bytes) -> bytes:
        """Run function on one peer without ordering it (a query)."""
        return self.gateway.evaluate(self._proposal(function, args))

    def submit_async(self, function: str, *args: str | bytes) -> Submitted:
        """Endorse function as the endorsement policy asks and send it to be ordered; commit is awaited later."""
        prepared = self._proposal(function, args)
        endorsed = self.gateway.endorse(prepared)
        result = endorsed_result(endorsed.prepared_transaction)
        self.gateway.submit(prepared, endorsed)
        return Submitted(self.gateway, prepared, result)

    def submit(self, function: str, *args: str | bytes, commit_timeout: float = 60.0) -> Committed:
        """submit_async, then wait until the transaction is valid in a block."""
        return self.submit_async(function, *args).committed(commit_timeout)


@dataclass(frozen=True)
class Submitted:
    """A transaction sent to the ordering service, not yet known to be committed."""

    gateway: Gateway
    prepared: proposal.Proposal
    result: bytes

    @property
    def transaction_id(self) -> str:
        return self.prepared.transaction_id

    def committed(self, timeout: float = 60.0) -> Committed:
        """Wait for the commit; raise CommitError when the peers marked the transaction invalid."""
        status, block = self.gateway.commit_status(self.prepared, timeout)
        if status != "VALID":
            raise CommitError(self.transaction_id, status, block)
        return Committed(self.transaction_id, block, self.result)
