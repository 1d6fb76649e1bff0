"""Identities from MSP folders, their signatures, and the proposals they sign."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from medledger_client import identity, proposal

from .certificates import Issued, issue

P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 // 2


def msp_folder(root: Path, issued: Issued, key: Issued | None = None) -> Path:
    (root / "signcerts").mkdir(parents=True)
    (root / "keystore").mkdir()
    (root / "signcerts" / "cert.pem").write_bytes(issued.certificate_pem)
    (root / "keystore" / "key.pem").write_bytes((key or issued).key_pem)
    return root


def test_an_msp_folder_gives_the_identity_and_its_creator_bytes(tmp_path: Path) -> None:
    patient = issue("pat-0001")
    loaded = identity.from_msp_folder(msp_folder(tmp_path, patient), "OrgPatientMSP")
    assert loaded.enrolment_id == "pat-0001"
    creator = identities_pb2.SerializedIdentity.FromString(loaded.serialized())
    assert (creator.mspid, creator.id_bytes) == ("OrgPatientMSP", patient.certificate_pem)


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path: Path) -> None:
    with pytest.raises(identity.IdentityError, match="does not belong to the certificate"):
        identity.from_msp_folder(msp_folder(tmp_path, issue("pat-0001"), issue("other")), "OrgPatientMSP")


def test_signatures_verify_and_always_have_low_s(tmp_path: Path) -> None:
    loaded = identity.from_msp_folder(msp_folder(tmp_path, issue("pat-0001")), "OrgPatientMSP")
    public = loaded.private_key.public_key()
    for n in range(40):  # about half of raw ECDSA signatures have a high s
        message = f"message {n}".encode()
        signature = loaded.sign(message)
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        assert decode_dss_signature(signature)[1] <= P256_HALF_ORDER


def test_a_proposal_carries_the_call_and_a_transaction_id_peers_can_recompute(tmp_path: Path) -> None:
    loaded = identity.from_msp_folder(msp_folder(tmp_path, issue("pat-0001")), "OrgPatientMSP")
    nonce = b"n" * proposal.NONCE_BYTES

    built = proposal.build(loaded, "patientchannel", "patient_data", "ListByPid", [b"pat-0001"], nonce=nonce)

    assert built.transaction_id == hashlib.sha256(nonce + loaded.serialized()).hexdigest()
    signed = built.signed
    loaded.private_key.public_key().verify(signed.signature, signed.proposal_bytes, ec.ECDSA(hashes.SHA256()))
    body = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
    header = common_pb2.Header.FromString(body.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    assert (channel_header.channel_id, channel_header.tx_id) == ("patientchannel", built.transaction_id)
    assert channel_header.type == common_pb2.ENDORSER_TRANSACTION
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert (signature_header.creator, signature_header.nonce) == (loaded.serialized(), nonce)
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(
        proposal_pb2.ChaincodeProposalPayload.FromString(body.payload).input
    ).chaincode_spec
    assert spec.chaincode_id.name == "patient_data"
    assert list(spec.input.args) == [b"ListByPid", b"pat-0001"]
