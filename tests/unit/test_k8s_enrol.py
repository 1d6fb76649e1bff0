"""medledger-k8s-enrol: a pod enrols its TLS identity once, keeps it in a Secret, and restores it after that."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_client import enrolment
from medledger_client.enrolment import Enrolled, EnrolmentError
from medledger_tools.k8s import enrol
from medledger_tools.k8s.incluster import ApiError

TLS_ROOT = b"-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n"
ISSUER = b"-----BEGIN CERTIFICATE-----\ntlsca-ca0\n-----END CERTIFICATE-----\n"


class Secrets:
    """The namespace's Secrets; `taken` plays another start of the same pod storing its identity first."""

    def __init__(self, taken: dict[str, bytes] | None = None) -> None:
        self.secrets: dict[str, dict[str, bytes]] = {}
        self.taken = taken

    def read(self, name: str) -> dict[str, bytes] | None:
        return self.secrets.get(name)

    def create(self, name: str, data: dict[str, bytes]) -> bool:
        if self.taken is not None:
            self.secrets[name] = self.taken
            return False
        self.secrets[name] = data
        return True


def enrolled(serial: str) -> Enrolled:
    certificate = f"-----BEGIN CERTIFICATE-----\n{serial}\n-----END CERTIFICATE-----\n".encode()
    return Enrolled(certificate, ISSUER + TLS_ROOT, ec.generate_private_key(ec.SECP256R1()))


def tls_files(serial: str) -> Callable[[], dict[str, bytes]]:
    return lambda: enrol.tls_files(enrolled(serial), TLS_ROOT)


def never() -> dict[str, bytes]:
    raise AssertionError("enrolled again: the CA allows one enrolment per identity")


def test_the_first_start_enrols_and_stores_the_identity(tmp_path: Path) -> None:
    secrets, folder = Secrets(), tmp_path / "tls"
    assert enrol.ensure_identity(secrets, "zookeeper-0-tls", folder, "tls", tls_files("one")) == "enrolled"
    stored = secrets.secrets["zookeeper-0-tls"]
    assert set(stored) == {"tls.key", "tls.crt", "ca.crt", "keystore.pem", "truststore.pem"}
    assert stored["keystore.pem"] == stored["tls.key"] + stored["tls.crt"] + ISSUER + TLS_ROOT, "key, then chain"
    assert stored["truststore.pem"] == ISSUER, "the issuing TLS CA alone, not the root every organisation shares"
    written = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert written.pop("tls-chain.crt") == stored["tls.crt"] + ISSUER, "what Go servers present"
    assert written == stored
    assert stat.S_IMODE((folder / "tls.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "keystore.pem").stat().st_mode) == 0o600


def test_a_restart_restores_the_stored_identity_without_enrolling(tmp_path: Path) -> None:
    secrets = Secrets()
    enrol.ensure_identity(secrets, "kafka-1-tls", tmp_path / "first", "tls", tls_files("one"))
    assert enrol.ensure_identity(secrets, "kafka-1-tls", tmp_path / "again", "tls", never) == "restored"
    assert (tmp_path / "again" / "tls.key").read_bytes() == (tmp_path / "first" / "tls.key").read_bytes()


def test_two_starts_racing_both_use_the_identity_stored_first(tmp_path: Path) -> None:
    first = enrol.tls_files(enrolled("first"), TLS_ROOT)
    secrets = Secrets(taken=first)
    assert enrol.ensure_identity(secrets, "peer-0-tls", tmp_path / "tls", "tls", tls_files("mine")) == ("restored")
    assert (tmp_path / "tls" / "tls.crt").read_bytes() == first["tls.crt"]


def test_a_stored_identity_missing_a_file_is_refused_and_nothing_written(tmp_path: Path) -> None:
    secrets = Secrets()
    secrets.secrets["peer-0-tls"] = {"tls.crt": b"certificate", "ca.crt": TLS_ROOT}
    with pytest.raises(ApiError, match=r"lacks keystore\.pem, tls\.key, truststore\.pem: delete the Secret"):
        enrol.ensure_identity(secrets, "peer-0-tls", tmp_path / "tls", "tls", never)
    assert not (tmp_path / "tls").exists()


def arguments(tmp_path: Path) -> list[str]:
    (tmp_path / "root.pem").write_bytes(TLS_ROOT)
    return ["--ca-address", "ca0:7054", "--ca-name", "tlsca", "--tls-root", str(tmp_path / "root.pem"),
            "--enrolment-id", "zookeeper-0", "--registration-secret", "zookeeper-0-registration",
            "--host", "zookeeper-0.zk", "--out", str(tmp_path / "tls"), "--secret-name", "zookeeper-0-tls"]  # fmt: skip


def registered() -> Secrets:
    secrets = Secrets()
    secrets.secrets["zookeeper-0-registration"] = {"secret": b"registration-secret\n"}
    return secrets


def test_the_command_enrols_with_the_registration_secret_and_the_pods_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sent: list[dict[str, Any]] = []

    def fake_enrol(address: str, ca_name: str, identity: str, secret: str, root: bytes, **options: Any) -> Enrolled:
        sent.append({"address": address, "ca": ca_name, "id": identity, "secret": secret, **options})
        return enrolled("one")

    monkeypatch.setattr(enrol, "enrol", fake_enrol)
    secrets = registered()
    assert enrol.main(arguments(tmp_path), store=secrets) == 0
    assert sent == [{"address": "ca0:7054", "ca": "tlsca", "id": "zookeeper-0", "secret": "registration-secret",
                     "tls_profile": True, "hosts": ["zookeeper-0.zk"]}]  # fmt: skip
    output = capsys.readouterr()
    assert "zookeeper-0: enrolled (zookeeper-0-tls)" in output.out
    assert "PRIVATE KEY" not in output.out + output.err


def test_a_refused_enrolment_stores_nothing_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(*_arguments: Any, **_options: Any) -> Enrolled:
        raise EnrolmentError("zookeeper-0 (tlsca) at ca0:7054: 401 Authentication failure")

    monkeypatch.setattr(enrol, "enrol", refused)
    secrets = registered()
    assert enrol.main(arguments(tmp_path), store=secrets) == 1
    assert set(secrets.secrets) == {"zookeeper-0-registration"}
    assert not (tmp_path / "tls").exists()
    assert "401 Authentication failure" in capsys.readouterr().err


def test_a_tls_enrolment_asks_for_the_names_the_pod_answers_to(monkeypatch: pytest.MonkeyPatch) -> None:
    bodies: list[bytes] = []

    def fake_call(_address: str, _path: str, body: bytes, *_arguments: Any, **_options: Any) -> dict[str, Any]:
        bodies.append(body)
        raise EnrolmentError("stop here")

    monkeypatch.setattr(enrolment, "_call", fake_call)
    with pytest.raises(EnrolmentError):
        enrolment.enrol("ca0:7054", "tlsca", "kafka-0", "secret", TLS_ROOT, tls_profile=True, hosts=["kafka-0.k"])
    assert b'"hosts": ["kafka-0.k"]' in bodies[0] and b'"profile": "tls"' in bodies[0]


def test_without_its_registration_the_pod_waits_then_says_which_secret_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert enrol.main([*arguments(tmp_path), "--wait", "0"], store=Secrets()) == 1
    assert "no Secret zookeeper-0-registration after 0 s: has the registration Job run?" in capsys.readouterr().err


def test_a_registration_that_appears_while_waiting_is_used() -> None:
    class Late(Secrets):
        reads = 0

        def read(self, name: str) -> dict[str, bytes] | None:
            self.reads += 1
            return {"secret": b"late"} if self.reads > 2 else None

    assert enrol.registration_secret(Late(), "peer-0-registration", timeout=5, pause=0) == "late"
