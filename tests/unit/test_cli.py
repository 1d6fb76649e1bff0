"""`medledger` builds, signs and submits the paper's record and lists records page by page (against the
in-process fake Gateway)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api import entities
from medledger_api.entities import PatientDataEntity
from medledger_client import cli
from medledger_client import client_config as client_config_module
from medledger_client.listing import Page

from .certificates import issue
from .fake_gateway import Peer, invocation_args
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
    return invocation_args(peer.service.seen["endorse"].proposed_transaction)


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


def usage_record(n: int) -> dict[str, object]:
    return {"treatmentId": f"T-{n}", "senderPseudonymId": "pat-0001", "receiverPseudonymId": "cqu-0001"}


def paged_answers(records: int, page_size: int) -> Callable[[list[bytes]], bytes]:
    """ListByPid as the chaincode answers: bookmarks name the next record (here, its number)."""

    def answer(args: list[bytes]) -> bytes:
        assert args[0] == b"ListByPid" and int(args[2]) == page_size, args
        start = int(args[3] or b"0")
        end = min(start + page_size, records)
        bookmark = str(end) if end < records else ""
        return Page([usage_record(n) for n in range(start, end)], bookmark, end - start).to_json().encode()

    return answer


@pytest.mark.parametrize("records", ["index", "usage"])
def test_list_prints_one_page_and_names_the_next_bookmark(
    records: str, tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]
) -> None:
    peer.service.answer = paged_answers(records=5, page_size=2)
    config = str(client_config(tmp_path, peer))

    assert cli.main(["--config", config, records, "list", "pat-0001", "--page-size", "2"]) == 0
    first = capsys.readouterr()
    assert cli.main(["--config", config, records, "list", "pat-0001", "--page-size", "2", "--bookmark", "4"]) == 0
    last = capsys.readouterr()

    assert peer.service.evaluated == [[b"ListByPid", b"pat-0001", b"2", b""], [b"ListByPid", b"pat-0001", b"2", b"4"]]
    assert Page.from_json(first.out) == Page([usage_record(0), usage_record(1)], "2", 2)
    assert "more records: --bookmark 2" in first.err
    assert Page.from_json(last.out) == Page([usage_record(4)], "", 1)
    assert "more records" not in last.err


@pytest.mark.parametrize("records", ["index", "usage"])
def test_list_all_follows_the_bookmarks_to_the_last_page(
    records: str, tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]
) -> None:
    peer.service.answer = paged_answers(records=7, page_size=3)
    config = str(client_config(tmp_path, peer))
    assert cli.main(["--config", config, records, "list", "pat-0001", "--page-size", "3", "--all"]) == 0
    assert json.loads(capsys.readouterr().out) == [usage_record(n) for n in range(7)]
    assert [args[3] for args in peer.service.evaluated] == [b"", b"3", b"6"]


def test_list_asks_for_pages_of_a_hundred_by_default(tmp_path: Path, peer: Peer) -> None:
    peer.service.answer = paged_answers(records=1, page_size=100)
    assert cli.main(["--config", str(client_config(tmp_path, peer)), "index", "list", "pat-0001"]) == 0
    assert peer.service.evaluated == [[b"ListByPid", b"pat-0001", b"100", b""]]


@pytest.mark.parametrize("size", ["0", "101", "ten"])
def test_a_page_size_outside_1_to_100_is_bad_input(
    size: str, tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--config", str(client_config(tmp_path, peer)), "index", "list", "pat-0001", "--page-size", size])
    assert exited.value.code == 2
    assert "--page-size" in capsys.readouterr().err
    assert peer.service.evaluated == []


def test_an_answer_that_is_not_a_page_exits_1(tmp_path: Path, peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    peer.service.answer = lambda _args: b"[]"  # what ListByPid returned before it had pages
    assert cli.main(["--config", str(client_config(tmp_path, peer)), "usage", "list", "pat-0001"]) == 1
    assert "a list query answered with no page: []" in capsys.readouterr().err


def test_a_threshold_share_needs_the_settings_to_name_enough_sharing_proxies(tmp_path: Path, peer: Peer) -> None:
    path = client_config(tmp_path, peer)
    settings = json.loads(path.read_text())
    proxies = [{"address": f"172.20.29.3{n}:8446", "tls_ca": str(tmp_path / "tls_ca")} for n in (1, 2, 3)]
    settings["services"] = {"sharing_proxies": proxies}
    path.write_text(json.dumps(settings))
    config = client_config_module.load(path)
    assert [endpoint.address for endpoint in config.threshold_proxies(2)] == [p["address"] for p in proxies]
    with pytest.raises(client_config_module.ConfigError, match="a share 4 of n needs n >= 4 sharing proxies"):
        config.threshold_proxies(4)
    settings["services"] = {"sharing_proxies": proxies[:1]}
    path.write_text(json.dumps(settings))
    with pytest.raises(
        client_config_module.ConfigError, match="needs n >= 2 sharing proxies; the client settings name 1"
    ):
        client_config_module.load(path).threshold_proxies(1)
