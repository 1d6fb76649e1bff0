"""The orderers' MSPs on the cluster and the system channel's genesis block: every CA chain checked against the
offline roots before it goes into a channel's configuration, the block made once and the first stored kept."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from medledger_client.enrolment import Enrolled
from medledger_tools.k8s import enrol, genesis
from medledger_tools.k8s.incluster import ApiError
from medledger_tools.k8s.msp import NODE_OUS, ChainError
from tests.unit.certificates import Issued, issue
from tests.unit.test_k8s_enrol import Secrets

ENROLMENT_ROOT, TLS_ROOT = issue("enrolment root", ca=True), issue("tls root", ca=True)
ORDERER_CA, TLS_CA = issue("ca-orgorderer", ENROLMENT_ROOT, ca=True), issue("tlsca-ca0", TLS_ROOT, ca=True)
# Another root of the same name, and a CA under it: what a CA server outside our PKI would serve.
FORGED_ROOT = issue("enrolment root", ca=True)
FORGED_CA = issue("ca-orgorderer", FORGED_ROOT, ca=True)


def chain(*issued: Issued) -> bytes:
    return b"".join(item.certificate_pem for item in issued)


def orderer_enrolment(ca: Issued = ORDERER_CA, root: Issued = ENROLMENT_ROOT) -> Enrolled:
    identity = issue("paper-orderer-0", ca)
    return Enrolled(identity.certificate_pem, chain(ca, root), identity.key)


def test_an_msp_identity_is_laid_out_as_fabric_reads_it(tmp_path: Path) -> None:
    secrets, folder = Secrets(), tmp_path / "msp"
    files = lambda: enrol.msp_files(orderer_enrolment(), ENROLMENT_ROOT.certificate_pem)  # noqa: E731
    assert enrol.ensure_identity(secrets, "paper-orderer-0-msp", folder, "msp", files) == "enrolled"
    assert (folder / "intermediatecerts" / "ca.pem").read_bytes() == ORDERER_CA.certificate_pem
    assert (folder / "cacerts" / "root.pem").read_bytes() == ENROLMENT_ROOT.certificate_pem
    assert (folder / "config.yaml").read_text() == NODE_OUS and "OrganizationalUnitIdentifier: orderer" in NODE_OUS
    assert b"PRIVATE KEY" in (folder / "keystore" / "key.pem").read_bytes()
    assert stat.S_IMODE((folder / "keystore" / "key.pem").stat().st_mode) == 0o600
    assert set(secrets.secrets["paper-orderer-0-msp"]) == {"key.pem", "cert.pem", "root.pem", "ca.pem", "config.yaml"}


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (chain(FORGED_CA, FORGED_ROOT), "does not end at the offline root"),
        (chain(FORGED_CA, ENROLMENT_ROOT), "the offline root did not sign the CA's certificate"),
        (chain(ORDERER_CA), "served 1 certificate"),
    ],
)
def test_an_msp_from_a_ca_outside_the_offline_root_is_refused_and_nothing_stored(
    served: bytes, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    identity = issue("paper-orderer-0", FORGED_CA)
    monkeypatch.setattr(enrol, "enrol", lambda *_a, **_o: Enrolled(identity.certificate_pem, served, identity.key))
    (tmp_path / "tls-root.pem").write_bytes(TLS_ROOT.certificate_pem)
    (tmp_path / "enrolment-root.pem").write_bytes(ENROLMENT_ROOT.certificate_pem)
    secrets = Secrets()
    secrets.secrets["paper-orderer-0-registration"] = {"secret": b"s"}
    arguments = ["--ca-address", "ca0:7054", "--ca-name", "ca-orgorderer", "--kind", "msp",
                 "--tls-root", str(tmp_path / "tls-root.pem"), "--enrolment-root", str(tmp_path / "enrolment-root.pem"),
                 "--enrolment-id", "paper-orderer-0", "--registration-secret", "paper-orderer-0-registration",
                 "--out", str(tmp_path / "msp"), "--secret-name", "paper-orderer-0-msp"]  # fmt: skip
    assert enrol.main(arguments, store=secrets) == 1
    assert reason in capsys.readouterr().err
    assert set(secrets.secrets) == {"paper-orderer-0-registration"} and not (tmp_path / "msp").exists()


def trust(tmp_path: Path) -> Path:
    folder = tmp_path / "trust"
    folder.mkdir()
    (folder / "enrolment-root.pem").write_bytes(ENROLMENT_ROOT.certificate_pem)
    (folder / "tls-root.pem").write_bytes(TLS_ROOT.certificate_pem)
    return folder


def test_each_organisations_verifying_msp_comes_from_its_ca_servers_chains(tmp_path: Path) -> None:
    hospital_ca = issue("ca-orghospital", ENROLMENT_ROOT, ca=True)
    served = {
        ("ca0:7054", "ca-orgorderer"): chain(ORDERER_CA, ENROLMENT_ROOT),
        ("ca1:7054", "ca-orghospital"): chain(hospital_ca, ENROLMENT_ROOT),
        ("ca0:7054", "tlsca-ca0"): chain(TLS_CA, TLS_ROOT),
        ("ca1:7054", "tlsca-ca1"): chain(TLS_CA, TLS_ROOT),
    }
    organisations = [("OrgOrderer", "ca0", "ca0:7054"), ("OrgHospital", "ca1", "ca1:7054")]
    lines = genesis.write_verifying_msps(organisations, lambda *key: served[key], trust(tmp_path), tmp_path / "orgs")
    assert lines == ["verifying MSP of OrgOrderer", "verifying MSP of OrgHospital"]
    msp = tmp_path / "orgs" / "OrgHospital" / "msp"
    assert (msp / "intermediatecerts" / "ca.pem").read_bytes() == hospital_ca.certificate_pem
    assert (msp / "tlsintermediatecerts" / "ca.pem").read_bytes() == TLS_CA.certificate_pem
    assert (msp / "tlscacerts" / "root.pem").read_bytes() == TLS_ROOT.certificate_pem
    assert not list(msp.rglob("*key*")), "public certificates only"


def test_one_organisation_under_another_root_writes_no_msp_at_all(tmp_path: Path) -> None:
    def served(_address: str, name: str) -> bytes:
        if name == "ca-orghospital":
            return chain(FORGED_CA, FORGED_ROOT)
        return chain(TLS_CA, TLS_ROOT) if name.startswith("tlsca") else chain(ORDERER_CA, ENROLMENT_ROOT)

    organisations = [("OrgOrderer", "ca0", "ca0:7054"), ("OrgHospital", "ca1", "ca1:7054")]
    with pytest.raises(ChainError, match="OrgHospital's CA: the CA's chain does not end at the offline root"):
        genesis.write_verifying_msps(organisations, served, trust(tmp_path), tmp_path / "orgs")
    assert not (tmp_path / "orgs").exists()


def test_the_first_stored_block_is_kept_and_every_orderer_fetches_that_one(tmp_path: Path) -> None:
    secrets = Secrets()
    assert genesis.store_block(secrets, "paper-orderer-genesis", b"first") == "stored paper-orderer-genesis"
    assert genesis.store_block(secrets, "paper-orderer-genesis", b"second").startswith("kept paper-orderer-genesis")
    assert genesis.fetch_block(secrets, "paper-orderer-genesis", tmp_path / "genesis.block", timeout=0)
    assert (tmp_path / "genesis.block").read_bytes() == b"first"


def test_an_empty_block_is_not_stored() -> None:
    secrets = Secrets()
    with pytest.raises(ApiError, match="configtxgen wrote nothing"):
        genesis.store_block(secrets, "paper-orderer-genesis", b"")
    assert secrets.secrets == {}


def test_an_orderer_waits_for_the_block_then_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments: list[Any] = [
        "fetch",
        "--secret-name",
        "paper-orderer-genesis",
        "--out",
        str(tmp_path / "b"),
        "--wait",
        "0",
    ]
    assert genesis.main(arguments, store=Secrets()) == 1
    assert "no Secret paper-orderer-genesis after 0 s: has the genesis Job run?" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
