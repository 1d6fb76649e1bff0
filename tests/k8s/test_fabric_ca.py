"""The umbrella chart on the cluster, its Fabric CA servers so far: the paper's two servers installed from the
inventory's values, their CA keys made in their pods and signed by the offline roots through the CSR API.
Attacked the way an insider would: the other CA server's service account asks for a CA that is not its own, and
reads keys that are not its own."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medledger_tools.k8s.layout import Layout
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl, service_address, sign, target

pytestmark = pytest.mark.k8s


def signing_request(common_name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def root(pki: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((pki / f"{name}-root.pem").read_bytes())


def call(
    layout: Layout, kubectl: Kubectl, server: str, path: str, *, pki: Path, body: bytes = b"", authorization: str = ""
) -> dict[str, object]:
    """One request to a CA server through its service, checked against the offline TLS root for its name."""
    name = f"{RELEASE}-fabric-ca-{server}.{NAMESPACE}.svc"
    context = ssl.create_default_context(cadata=root(pki, "tls").public_bytes(serialization.Encoding.PEM).decode())
    address = target(layout, service_address(kubectl, f"fabric-ca-{server}"))
    with (
        socket.create_connection((address, 7054), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        method = "POST" if body else "GET"
        headers = f"{method} {path} HTTP/1.1\r\nHost: {name}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        if authorization:
            headers += f"Authorization: {authorization}\r\n"
        tls.sendall(headers.encode() + b"\r\n" + body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    if b"Transfer-Encoding: chunked" in head:
        payload = b"".join(payload.split(b"\r\n")[1::2])
    return dict(json.loads(payload))


def test_each_server_serves_its_cas_chained_to_the_offline_roots(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path
) -> None:
    for server, authority in (("ca0", "ca-orgpatient"), ("ca1", "ca-orgthirdparty"), ("ca0", "tlsca-ca0")):
        answer = call(layout, kubectl, server, f"/api/v1/cainfo?ca={authority}", pki=pki)
        assert answer["success"] is True
        chain = base64.b64decode(answer["result"]["CAChain"])  # type: ignore[index]
        intermediate = x509.load_pem_x509_certificate(chain)
        expected_root = root(pki, "tls" if authority.startswith("tlsca") else "enrolment")
        intermediate.verify_directly_issued_by(expected_root)
        assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


def test_the_registrar_enrols_with_the_secret_only_the_cluster_holds(
    release: str, layout: Layout, kubectl: Kubectl, pki: Path
) -> None:
    encoded = kubectl("--namespace", NAMESPACE, "get", "secret", f"{RELEASE}-fabric-ca-ca0-registrar",
                      "-o", "jsonpath={.data.secret}")  # fmt: skip
    secret = base64.b64decode(encoded).decode()
    body = json.dumps(
        {"certificate_request": signing_request("registrar").decode(), "caname": "ca-orgpatient"}
    ).encode()
    wrong = base64.b64encode(b"registrar:not-the-secret").decode()
    assert (
        call(layout, kubectl, "ca0", "/api/v1/enroll", pki=pki, body=body, authorization=f"Basic {wrong}")["success"]
        is False
    )
    right = base64.b64encode(f"registrar:{secret}".encode()).decode()
    answer = call(layout, kubectl, "ca0", "/api/v1/enroll", pki=pki, body=body, authorization=f"Basic {right}")
    assert answer["success"] is True
    issued = x509.load_pem_x509_certificate(base64.b64decode(answer["result"]["Cert"]))  # type: ignore[index]
    assert issued.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "registrar"


def test_the_other_servers_account_reads_no_key_and_gets_no_ca_of_this_server(
    release: str, layout: Layout, kubectl: Kubectl, values: Path, pki: Path
) -> None:
    other = f"system:serviceaccount:{NAMESPACE}:{RELEASE}-fabric-ca-ca1"
    key_secret = f"{NAMESPACE}-{RELEASE}-fabric-ca-ca0-ca-orgpatient"
    allowed = kubectl("--namespace", NAMESPACE, "auth", "can-i", "get", f"secret/{key_secret}", f"--as={other}",
                      check=False)  # fmt: skip
    assert allowed.strip().startswith("no")
    name = f"{NAMESPACE}-{RELEASE}-attack-ca-orgpatient"
    request = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
               "spec": {"request": base64.b64encode(signing_request("ca-orgpatient")).decode(),
                        "signerName": "medledger.org/enrolment-root", "usages": ["cert sign", "crl sign"]}}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".json") as manifest:
        manifest.write(json.dumps(request))
        manifest.flush()
        kubectl("create", "-f", manifest.name, f"--as={other}")
    sign(layout, values, pki)
    status = json.loads(kubectl("get", "certificatesigningrequest", name, "-o", "json"))["status"]
    assert not status.get("certificate")
    (denied,) = [condition for condition in status["conditions"] if condition["type"] == "Denied"]
    assert f"not {other}'s" in denied["message"]
    kubectl("delete", "certificatesigningrequest", name)


def test_no_ca_key_is_written_to_the_servers_volumes(release: str, layout: Layout) -> None:
    volumes = layout.state / "volumes"
    for path in volumes.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), f"{path} holds a private key"
    assert any(path.name == "ca-orgpatient.db" for path in volumes.rglob("*")), "the servers keep their databases"
