"""medledger-k8s-sign: the offline roots sign only what the topology expects, from whom it expects it."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medledger_tools import helm_values, topology
from medledger_tools.k8s import signing

NAMESPACE, RELEASE = "medledger", "paper"
CA0 = f"system:serviceaccount:{NAMESPACE}:{RELEASE}-fabric-ca-ca0"
CA1 = f"system:serviceaccount:{NAMESPACE}:{RELEASE}-fabric-ca-ca1"


@pytest.fixture(scope="module")
def expected(paper: topology.Topology) -> dict[str, signing.Expected]:
    return signing.expected_requests(helm_values.render(paper), NAMESPACE, RELEASE)


def root(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"MedLedger {name} root CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=7300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, certificate


ROOTS = {"tls": root("tls"), "enrolment": root("enrolment")}


def request(common_name: str, username: str, signer: str, key: Any = None, *, wants_deep_ca: bool = False) -> Any:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    if wants_deep_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=5), critical=True)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return {
        "metadata": {"name": f"{common_name}-request"},
        "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "username": username},
        "status": {},
    }


def test_every_ca_of_every_server_and_each_servers_tls_certificate_is_expected(
    expected: dict[str, signing.Expected],
) -> None:
    assert {name: (item.root, item.requester) for name, item in expected.items() if item.authority} == {
        "tlsca-ca0": ("tls", CA0), "ca-orgpatient": ("enrolment", CA0), "ca-orgorderer": ("enrolment", CA0),
        "tlsca-ca1": ("tls", CA1), "ca-orggovernment": ("enrolment", CA1), "ca-orgthirdparty": ("enrolment", CA1),
    }  # fmt: skip
    server = expected["paper-fabric-ca-ca0"]
    assert not server.authority and "paper-fabric-ca-ca0.medledger.svc.cluster.local" in server.dns_names


def test_an_expected_request_from_its_server_is_signed_as_a_ca_one_level_deep(
    expected: dict[str, signing.Expected],
) -> None:
    asked = request("ca-orgpatient", CA0, "medledger.org/enrolment-root", wants_deep_ca=True)
    decision = signing.decide(asked, expected)
    assert decision is not None and decision.sign and decision.expected is not None
    pem = signing.issue(base64.b64decode(asked["spec"]["request"]), decision.expected, *ROOTS["enrolment"])
    certificate = x509.load_pem_x509_certificate(pem)
    certificate.verify_directly_issued_by(ROOTS["enrolment"][1])
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0, "the root decides the depth, not the request"
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "OrgPatient"
    # A leaf Fabric CA backdates 5 minutes must fall inside its CA's validity (a root made a minute ago bounds it).
    assert certificate.not_valid_before_utc == ROOTS["enrolment"][1].not_valid_before_utc


def test_a_servers_tls_certificate_names_its_service_and_is_no_ca(expected: dict[str, signing.Expected]) -> None:
    asked = request("paper-fabric-ca-ca1", CA1, "medledger.org/tls-root")
    decision = signing.decide(asked, expected)
    assert decision is not None and decision.sign and decision.expected is not None
    pem = signing.issue(base64.b64decode(asked["spec"]["request"]), decision.expected, *ROOTS["tls"])
    certificate = x509.load_pem_x509_certificate(pem)
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "paper-fabric-ca-ca1.medledger.svc" in names.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize(
    ("asked", "reason"),
    [
        # The government's CA server asking for the hospitals' enrolment CA: another insider's name.
        (request("ca-orgpatient", CA1, "medledger.org/enrolment-root"), "not system:serviceaccount:medledger:paper"),
        # Any other pod of the namespace.
        (request("tlsca-ca0", "system:serviceaccount:medledger:default", "medledger.org/tls-root"), "not system:"),
        (request("tlsca-ca0", CA0, "medledger.org/enrolment-root"), "signed by medledger.org/tls-root"),
        (request("ca-orgnobody", CA0, "medledger.org/enrolment-root"), "no CA server of the topology"),
        (
            request("ca-orgpatient", CA0, "medledger.org/enrolment-root", rsa.generate_private_key(65537, 2048)),
            "the key must be ECDSA P-256",
        ),
    ],
    ids=["other-server", "other-pod", "wrong-root", "unknown-name", "rsa-key"],
)
def test_requests_the_topology_does_not_expect_are_denied_with_the_reason(
    expected: dict[str, signing.Expected], asked: Any, reason: str
) -> None:
    decision = signing.decide(asked, expected)
    assert decision is not None and not decision.sign
    assert reason in decision.reason


def test_requests_for_other_signers_or_already_answered_are_left_alone(expected: dict[str, signing.Expected]) -> None:
    assert signing.decide(request("tlsca-ca0", CA0, "kubernetes.io/kube-apiserver-client"), expected) is None
    answered = request("tlsca-ca0", CA0, "medledger.org/tls-root")
    answered["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    assert signing.decide(answered, expected) is None


def test_pending_requests_are_approved_and_signed_or_denied_through_the_api(
    expected: dict[str, signing.Expected],
) -> None:
    good = request("tlsca-ca0", CA0, "medledger.org/tls-root")
    bad = request("ca-orgpatient", CA1, "medledger.org/enrolment-root")
    calls: list[tuple[str, ...]] = []

    def kubectl(*arguments: str) -> str:
        calls.append(arguments)
        return json.dumps({"items": [good, bad]}) if arguments[0] == "get" else ""

    report = signing.answer_pending(kubectl, expected, ROOTS)
    assert report[0].startswith("signed tlsca-ca0-request") and report[1].startswith("denied ca-orgpatient-request")
    assert ("certificate", "approve", "tlsca-ca0-request") in calls
    status = next(call for call in calls if "--subresource=status" in call)
    chain = base64.b64decode(json.loads(status[-1].removeprefix("--patch="))["status"]["certificate"])
    x509.load_pem_x509_certificate(chain).verify_directly_issued_by(ROOTS["tls"][1])
    assert chain.endswith(ROOTS["tls"][1].public_bytes(serialization.Encoding.PEM)), "the chain ends at the root"
    denial = next(call for call in calls if "--subresource=approval" in call)
    assert denial[2] == "ca-orgpatient-request" and '"Denied"' in denial[-1]
    assert not any(call[:2] == ("certificate", "approve") and call[2] == "ca-orgpatient-request" for call in calls)


def test_only_expected_names_with_a_certificate_count_as_issued(expected: dict[str, signing.Expected]) -> None:
    signed = request("tlsca-ca0", CA0, "medledger.org/tls-root")
    signed["status"] = {"certificate": base64.b64encode(b"chain").decode()}
    pending = request("tlsca-ca1", CA1, "medledger.org/tls-root")
    stranger = request("ca-orgnobody", CA0, "medledger.org/enrolment-root")
    stranger["status"] = {"certificate": base64.b64encode(b"chain").decode()}
    listing = json.dumps({"items": [signed, pending, stranger]})
    assert signing.issued(lambda *_arguments: listing, expected) == {"tlsca-ca0"}


def test_the_trust_config_map_holds_both_roots_certificates_and_no_key() -> None:
    config_map = json.loads(signing.trust_config_map(NAMESPACE, RELEASE, ROOTS))
    assert config_map["metadata"] | {"labels": None} == {"name": f"{RELEASE}-trust", "namespace": NAMESPACE,
                                                          "labels": None}  # fmt: skip
    for name, (_key, certificate) in ROOTS.items():
        assert x509.load_pem_x509_certificate(config_map["data"][f"{name}-root.pem"].encode()) == certificate
    assert "PRIVATE KEY" not in json.dumps(config_map)
