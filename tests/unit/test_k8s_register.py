"""medledger-k8s-register: each pod's identity is registered once, its secret kept where only that pod reads it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_client.enrolment import Enrolled, EnrolmentError
from medledger_client.identity import Identity
from medledger_tools.k8s import register
from medledger_tools.k8s.register import Registration
from tests.unit.test_k8s_enrol import Secrets

ZOOKEEPER = Registration("paper-zookeeper-0", "tlsca-ca0", "client", "orgorderer")
REGISTRAR = Identity("", b"registrar certificate", ec.generate_private_key(ec.SECP256R1()))


class CA:
    """The CA's registry: identity -> secret; registering a known one fails as Fabric CA does (409)."""

    def __init__(self) -> None:
        self.registered: dict[str, str] = {}

    def register(self, registration: Registration, registrar: Identity, secret: str) -> None:
        assert registrar is REGISTRAR
        if registration.name in self.registered:
            raise EnrolmentError(f"{registration.name} ({registration.ca}) at ca0:7054: 409 Identity "
                                 f"'{registration.name}' is already registered")  # fmt: skip
        self.registered[registration.name] = secret


def test_an_identity_is_registered_with_the_secret_stored_for_its_pod() -> None:
    secrets, ca = Secrets(), CA()
    report = register.register_all(secrets, [ZOOKEEPER], lambda _ca: REGISTRAR, ca.register)
    assert report == ["registered paper-zookeeper-0 at tlsca-ca0"]
    stored = secrets.secrets["paper-zookeeper-0-registration"]["secret"].decode()
    assert ca.registered == {"paper-zookeeper-0": stored} and len(stored) >= 32


def test_a_second_run_keeps_the_secret_and_the_registration() -> None:
    secrets, ca = Secrets(), CA()
    register.register_all(secrets, [ZOOKEEPER], lambda _ca: REGISTRAR, ca.register)
    first = dict(secrets.secrets)
    report = register.register_all(secrets, [ZOOKEEPER], lambda _ca: REGISTRAR, ca.register)
    assert report == ["kept paper-zookeeper-0 at tlsca-ca0 (already registered)"]
    assert secrets.secrets == first


def test_a_run_stopped_after_storing_the_secret_registers_it_with_that_secret_next_time() -> None:
    secrets, ca = Secrets(), CA()
    secrets.secrets["paper-zookeeper-0-registration"] = {"secret": b"stored-before-the-stop"}
    register.register_all(secrets, [ZOOKEEPER], lambda _ca: REGISTRAR, ca.register)
    assert ca.registered == {"paper-zookeeper-0": "stored-before-the-stop"}


def test_another_refusal_stops_the_run() -> None:
    def refused(*_arguments: Any) -> None:
        raise EnrolmentError("paper-zookeeper-0 (tlsca-ca0) at ca0:7054: 403 Authorization failure")

    with pytest.raises(EnrolmentError, match="403 Authorization failure"):
        register.register_all(Secrets(), [ZOOKEEPER], lambda _ca: REGISTRAR, refused)


def test_registrations_are_parsed_or_refused_with_the_expected_form() -> None:
    assert Registration.parse("paper-kafka-0:tlsca-ca0:client:orgorderer") == Registration(
        "paper-kafka-0", "tlsca-ca0", "client", "orgorderer", enrolments=1
    )
    shared = Registration.parse("paper-kafka-zookeeper-client:tlsca-ca0:client:orgorderer:4")
    assert (shared.name, shared.enrolments) == ("paper-kafka-zookeeper-client", 4)
    registrar = Registration.parse(
        "paper-registry-peergovernment-orgpatient:ca-orgpatient:client:orgpatient:1:"
        "hf.Registrar.Roles=client;hf.Registrar.Attributes=medledger.role"
    )
    assert registrar.attributes == (("hf.Registrar.Attributes", "medledger.role"), ("hf.Registrar.Roles", "client"))
    for text in ("paper-kafka-0:tlsca-ca0:client", "a::client:org", "a:b:c:d:e", "a:b:c:d:0", "a:b:c:d:4:5",
                 "a:b:c:d:1:x=1;y", "a:b:c:d:1:=1", "a:b:c:d:1:x=1:y=2"):  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError, match=r"expected NAME:CA:TYPE:AFFILIATION\[:ENROLMENTS\["):
            Registration.parse(text)


def test_the_ca_is_waited_for_while_it_cannot_be_reached_but_a_wrong_secret_fails_at_once() -> None:
    attempts: list[int] = []

    def starting() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise EnrolmentError("registrar (tlsca-ca0) at ca0:7054: [Errno 111] Connection refused")
        return "enrolled"

    assert register.patiently(starting, timeout=5, pause=0) == "enrolled"

    def wrong_secret() -> str:
        attempts.append(1)
        raise EnrolmentError("registrar (tlsca-ca0) at ca0:7054: 401 Authentication failure")

    attempts.clear()
    with pytest.raises(EnrolmentError, match="Authentication failure"):
        register.patiently(wrong_secret, timeout=5, pause=0)
    assert len(attempts) == 1


def test_the_command_enrols_the_registrar_once_per_ca_and_prints_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    enrolments: list[str] = []
    registered: list[dict[str, Any]] = []

    def fake_enrol(_address: str, ca_name: str, identity: str, _secret: str, _root: bytes) -> Enrolled:
        enrolments.append(f"{identity}@{ca_name}")
        return Enrolled(b"registrar certificate", b"chain", ec.generate_private_key(ec.SECP256R1()))

    def fake_register(_address: str, ca_name: str, _registrar: Identity, _root: bytes, **fields: Any) -> None:
        registered.append({"ca": ca_name, **fields})

    monkeypatch.setattr(register, "enrol", fake_enrol)
    monkeypatch.setattr(register, "register", fake_register)
    (tmp_path / "root.pem").write_bytes(b"root")
    (tmp_path / "registrar").write_text("registrar-secret\n")
    secrets = Secrets()
    arguments = ["--ca-address", "paper-fabric-ca-ca0:7054", "--tls-root", str(tmp_path / "root.pem"),
                 "--registrar-name", "registrar", "--registrar-secret-file", str(tmp_path / "registrar"),
                 "--registration", "paper-zookeeper-0:tlsca-ca0:client:orgorderer",
                 "--registration", "paper-zookeeper-1:tlsca-ca0:client:orgorderer",
                 "--registration", "paper-kafka-zookeeper-client:tlsca-ca0:client:orgorderer:4"]  # fmt: skip
    assert register.main(arguments, store=secrets) == 0
    assert enrolments == ["registrar@tlsca-ca0"]
    assert [
        (item["ca"], item["enrolment_id"], item["affiliation"], item["identity_type"], item["max_enrollments"])
        for item in registered
    ] == [
        ("tlsca-ca0", "paper-zookeeper-0", "orgorderer", "client", 1),
        ("tlsca-ca0", "paper-zookeeper-1", "orgorderer", "client", 1),
        ("tlsca-ca0", "paper-kafka-zookeeper-client", "orgorderer", "client", 4),
    ]
    output = capsys.readouterr()
    for item in registered:
        assert item["secret"] not in output.out + output.err
    assert "registrar-secret" not in output.out + output.err
