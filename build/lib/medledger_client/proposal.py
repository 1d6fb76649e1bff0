"""Signed transaction proposals, built as Fabric's Gateway clients build them."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf import timestamp_pb2

from .identity import Identity

NONCE_BYTES = 24


@dataclass(frozen=True)
class Proposal:
    transaction_id: str
    channel: str
    signed: proposal_pb2.SignedProposal


def build(
    identity: Identity, channel: str, chaincode: str, function: str, args: list[bytes], *, nonce: bytes | None = None
) -> Proposal:
    """A proposal to invoke chaincode's function with args, signed by identity. The transaction ID is
    SHA-256(nonce ‖ creator), which peers recompute and check."""
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    creator = identity.serialized()
    transaction_id = hashlib.sha256(nonce + creator).hexdigest()
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode)
    timestamp = timestamp_pb2.Timestamp()
    timestamp.GetCurrentTime()
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=transaction_id,
        timestamp=timestamp,
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id).SerializeToString(),
    )
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_id, input=chaincode_pb2.ChaincodeInput(args=[function.encode(), *args])
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=invocation.SerializeToString())
    proposal_bytes = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    ).SerializeToString()
    signed = proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes, signature=identity.sign(proposal_bytes))
    return Proposal(transaction_id, channel, signed)
