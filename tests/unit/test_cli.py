"""`medledger index put` builds, signs and submits the paper's record (against the in-process fake Gateway)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from medledger_services import cli, entities
from medledger_services.entities import PatientDataEntity

from .certificates import issue
from .fake_gateway import Peer
from .test_identity_and_proposal import msp_folder


def client_config(tmp_path: Path, peer: Peer) -> Path:
    files = {
        "tls_ca": peer.endpoint.tls_ca,
        "tls_cert": peer.endpoint.client_certificate,
        "tls_key": peer.endpoint.client_key,
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    patient = issue("pat-0001")
    msp_folder(tmp_path / "msp", patient)
    config = {
        "peer": peer.endpoint.address,
        **{name: str(tmp_path / name) for name in files},
        "msp_dir": str(tmp_path / "msp"),
        "msp_id": "OrgPatientMSP",
        "index": {"channel": "patientchannel", "chaincode": "patient_data"},
        "usage": {"channel": "datausagechannel", "chaincode": "data_usage"},
    }
    (tmp_path / "client.json").write_text(json.dumps(config))
    return tmp_path / "client.json"


def submitted_args(peer: Peer) -> list[bytes]:
    signed = peer.service.seen["endorse"].proposed_transaction
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(
        proposal_pb2.Proposal.FromString(signed.proposal_bytes).payload
    )
    return list(chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec.input.args)


def test_index_put_records_the_datas_digest_signed_by_the_patient(
    tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = client_config(tmp_path, peer)
    data = tmp_path / "record.enc"
    data.write_bytes(b"ciphertext of an EMR")

    status = cli.main([
        "--config", str(config), "index", "put", "--treatment", "T-1", "--data", str(data),
        "--url", "https://storage.xinqiao.lab/r/T-1",
        "--doctor", "doc-0001", "--doctor-signature", "30440220" + "ab" * 8,
    ])  # fmt: skip

    assert status == 0
    function, entity_json = submitted_args(peer)
    assert function == b"SavePatientData"
    record = PatientDataEntity.from_wire(json.loads(entity_json))
    assert record.patient_pseudonym_id == "pat-0001"
    assert record.data_message_digest == entities.data_digest(b"ciphertext of an EMR")
    certificate = (tmp_path / "msp" / "signcerts" / "cert.pem").read_bytes()
    key = x509.load_pem_x509_certificate(certificate).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(
        bytes.fromhex(record.data_signature_patient),
        entities.patient_signature_message(record.data_message_digest, "pat-0001"),
        ec.ECDSA(hashes.SHA256()),
    )
    assert json.loads(capsys.readouterr().out)["block"] == 7


def test_a_record_the_schema_refuses_is_not_sent(
    tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = client_config(tmp_path, peer)
    (tmp_path / "d").write_bytes(b"x")
    status = cli.main([
        "--config", str(config), "index", "put", "--treatment", "T 1", "--data", str(tmp_path / "d"),
        "--url", "https://s/r", "--doctor", "doc-0001", "--doctor-signature", "ab" * 8,
    ])  # fmt: skip
    assert status == 2
    assert "invalid PatientDataEntity: treatmentId: 'T 1' does not match" in capsys.readouterr().err
    assert "endorse" not in peer.service.seen


def test_a_refusal_by_the_ledger_exits_1_with_the_peers_reason(
    tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]
) -> None:
    peer.service.refuse_with = "chaincode response 500, no datausage record"
    status = cli.main(["--config", str(client_config(tmp_path, peer)), "usage", "get", "pat-0001", "T-1"])
    assert status == 1
    assert "chaincode response 500, no datausage record" in capsys.readouterr().err


def test_a_missing_setting_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "client.json").write_text(json.dumps({"peer": "127.0.0.1:7051"}))
    assert cli.main(["--config", str(tmp_path / "client.json"), "index", "list", "pat-0001"]) == 2
    assert "missing tls_ca, tls_cert, tls_key, msp_dir, msp_id, index, usage" in capsys.readouterr().err
