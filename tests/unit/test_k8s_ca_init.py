"""medledger-k8s-ca-init: a CA server's keys are made in its pod, signed through the CSR API once, kept after."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from medledger_tools.k8s import ca_init, signing
from medledger_tools.k8s.incluster import ApiError
from tests.unit.test_k8s_enrol import Secrets
from tests.unit.test_k8s_signing import ROOTS


class Signer:
    """The CSR API with `medledger-k8s-sign` behind it: signs each request as it arrives, or denies it."""

    def __init__(self, deny: str | None = None) -> None:
        self.submitted: dict[str, tuple[bytes, str, list[str]]] = {}
        self.deny = deny

    def submit(self, name: str, request_pem: bytes, signer: str, usages: list[str]) -> None:
        self.submitted.setdefault(name, (request_pem, signer, usages))

    def answer(self, name: str) -> tuple[bytes | None, str | None]:
        if self.deny:
            return None, self.deny
        request_pem, signer, _ = self.submitted[name]
        csr = x509.load_pem_x509_csr(request_pem)
        common_name = str(csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
        root_name = signer.split("/")[1].removesuffix("-root")
        wanted = signing.Expected(common_name, "MedLedger", root_name, "sa", authority=True)
        root_key, root = ROOTS[root_name]
        return signing.issue(request_pem, wanted, root_key, root) + root.public_bytes(serialization.Encoding.PEM), None


def arguments(tmp_path: Path) -> list[str]:
    templates = tmp_path / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "fabric-ca-server-config.yaml").write_text(
        "registry:\n  identities:\n    - pass: ${REGISTRAR_SECRET}\n"
    )
    (templates / "ca-orgpatient.yaml").write_text("ca:\n  name: ca-orgpatient\n")
    (tmp_path / "registrar").write_text("registrar-secret\n")
    return ["--authority", "tlsca-ca0:tls:tlsca", "--authority", "ca-orgpatient:enrolment:orgs/orgpatient",
            "--server-tls", "paper-fabric-ca-ca0:tls:tls", "--prefix", "medledger-paper-ca0",
            "--keys", str(tmp_path / "keys"), "--templates", str(templates),
            "--registrar-secret-file", str(tmp_path / "registrar"), "--config", str(tmp_path)]  # fmt: skip


def test_each_ca_is_signed_by_its_own_root_and_the_files_are_laid_out(tmp_path: Path) -> None:
    secrets, signer = Secrets(), Signer()
    assert ca_init.main(arguments(tmp_path), store=secrets, requests=signer) == 0
    assert {name: value[1] for name, value in signer.submitted.items()} == {
        "medledger-paper-ca0-tlsca-ca0": "medledger.org/tls-root",
        "medledger-paper-ca0-ca-orgpatient": "medledger.org/enrolment-root",
        "medledger-paper-ca0-paper-fabric-ca-ca0": "medledger.org/tls-root",
    }
    assert signer.submitted["medledger-paper-ca0-paper-fabric-ca-ca0"][2] == ca_init.SERVER_USAGES
    folder = tmp_path / "keys" / "orgs" / "orgpatient"
    certificate = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    certificate.verify_directly_issued_by(ROOTS["enrolment"][1])
    assert (folder / "chain.pem").read_bytes().startswith((folder / "cert.pem").read_bytes())
    assert stat.S_IMODE((folder / "key.pem").stat().st_mode) == 0o600
    config = tmp_path / "fabric-ca-server-config.yaml"
    assert "pass: registrar-secret" in config.read_text() and stat.S_IMODE(config.stat().st_mode) == 0o600
    assert (tmp_path / "ca-orgpatient" / "fabric-ca-config.yaml").read_text() == "ca:\n  name: ca-orgpatient\n"


def test_a_restart_reuses_the_stored_keys_and_asks_nothing(tmp_path: Path) -> None:
    secrets = Secrets()
    ca_init.main(arguments(tmp_path), store=secrets, requests=Signer())
    before = (tmp_path / "keys" / "tlsca" / "key.pem").read_bytes()
    again = Signer()
    assert ca_init.main(arguments(tmp_path), store=secrets, requests=again) == 0
    assert again.submitted == {}
    assert (tmp_path / "keys" / "tlsca" / "key.pem").read_bytes() == before


def test_a_denied_request_stops_the_server_with_the_roots_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = Secrets()
    assert ca_init.main(arguments(tmp_path), store=secrets, requests=Signer(deny="no CA server of ...")) == 1
    assert "tlsca-ca0: the tls root denied it: no CA server of ..." in capsys.readouterr().err
    assert secrets.secrets == {} and not (tmp_path / "fabric-ca-server-config.yaml").exists()


def test_an_unanswered_request_gives_up_after_the_wait() -> None:
    class Silent(Signer):
        def answer(self, name: str) -> tuple[bytes | None, str | None]:
            return None, None

    wanted = ca_init.Wanted("tlsca-ca0", "tls", "tlsca", authority=True)
    with pytest.raises(ApiError, match="not signed within 0 s"):
        ca_init.obtain(wanted, Secrets(), Silent(), "s", timeout=0, pause=0)
