"""Clients of the cluster's services as an insider makes them: a TLS client certificate signed by a CA key its
CA server keeps in a Secret, and ZooKeeper's wire protocol (jute) over mutual TLS, spoken by hand; and as a patient
does: registered by its hospital's CA server, enrolled from here, talking to a peer's Gateway."""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import socket
import ssl
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medledger_api.common import Role
from medledger_client import enrolment
from medledger_client.gateway import Endpoint, Gateway
from medledger_client.identity import Identity
from medledger_client.service_client import ServiceClient
from medledger_tools.k8s.layout import Layout
from medledger_tools.lab_services import AUDIENCES, CaServer, Registered, register_person
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl, service_address, target

# The patient the ledger tests enrol (at its hospital's CA server), and the peers it uses.
PATIENT_CHANNEL = "patientchannel"
HOSPITAL = {"name": "OrgPatient", "msp_id": "OrgPatientMSP", "server": "ca0"}
THIRD_PARTY = {"name": "OrgThirdParty", "msp_id": "OrgThirdPartyMSP", "server": "ca1"}
GOVERNMENT = {"name": "OrgGovernment", "msp_id": "OrgGovernmentMSP", "server": "ca1"}
HOSPITAL_PEER, GOVERNMENT_PEER = "peerxinqiao", "peergovernment"
# Where inventories/paper puts each service (the peer it runs beside), and its port.
SERVICES = {"registry": (GOVERNMENT_PEER, 8443), "hospital_manager": (HOSPITAL_PEER, 8444),
            "storage": (HOSPITAL_PEER, 8445), "sharing_proxy": (GOVERNMENT_PEER, 8446)}  # fmt: skip
PEER_PORT = 7051
ZOOKEEPER = f"{RELEASE}-zookeeper"
ZOOKEEPER_CLIENT_PORT = 2281
KAFKA, KAFKA_PORT = f"{RELEASE}-kafka", 9093
# Kafka's API keys and error codes (its protocol guide).
METADATA, API_VERSIONS = 3, 18
TOPIC_AUTHORIZATION_FAILED = 29
# ZooKeeper's opcodes (ZooDefs.OpCode), its error codes (KeeperException.Code) and permissions (ZooDefs.Perms).
DELETE, GET_ACL = 2, 6
NO_AUTH, NO_NODE = -102, -101
READ, ALL = 1, 31


def secret(kubectl: Kubectl, name: str) -> dict[str, bytes]:
    data = json.loads(kubectl("--namespace", NAMESPACE, "get", "secret", name, "-o", "json"))["data"]
    return {key: base64.b64decode(value) for key, value in data.items()}


def client_identity(kubectl: Kubectl, server: str, authority: str, folder: Path) -> tuple[Path, Path]:
    """A TLS client certificate signed by `authority`'s key, taken (as an insider of that organisation holds it)
    from the Secret its CA server keeps it in; the certificate file carries the CA's certificate along."""
    stored = secret(kubectl, f"{NAMESPACE}-{RELEASE}-fabric-ca-{server}-{authority}")
    ca_key = serialization.load_pem_private_key(stored["key.pem"], password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_certificate = x509.load_pem_x509_certificate(stored["cert.pem"])
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client-of-{authority}")]))
        .issuer_name(ca_certificate.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    certificate_file, key_file = folder / f"{authority}.crt", folder / f"{authority}.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + stored["cert.pem"])
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    key_file.chmod(0o600)
    return certificate_file, key_file


def receive(stream: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


@contextmanager
def zookeeper_session(
    layout: Layout, kubectl: Kubectl, tls_root: bytes, identity: tuple[Path, Path]
) -> Iterator[tuple[ssl.SSLSocket, int]]:
    """A ZooKeeper session through the client Service over mutual TLS (ConnectRequest): the stream and its ID."""
    context = ssl.create_default_context(cadata=tls_root.decode())
    context.load_cert_chain(*identity)
    address = target(layout, service_address(kubectl, "zookeeper"))
    request = struct.pack(">iqiqi16s?", 0, 0, 30000, 0, 16, bytes(16), False)
    with (
        socket.create_connection((address, ZOOKEEPER_CLIENT_PORT), timeout=15) as raw,
        context.wrap_socket(raw, server_hostname=f"{ZOOKEEPER}.{NAMESPACE}.svc") as stream,
    ):
        stream.sendall(struct.pack(">i", len(request)) + request)
        (length,) = struct.unpack(">i", receive(stream, 4))
        _version, _timeout, session_id = struct.unpack(">iiq", receive(stream, length)[:16])
        yield stream, int(session_id)


def jute_string(text: str) -> bytes:
    encoded = text.encode()
    return struct.pack(">i", len(encoded)) + encoded


def zookeeper_call(stream: ssl.SSLSocket, xid: int, opcode: int, body: bytes) -> tuple[int, bytes]:
    """One request (RequestHeader and body); the reply's error code and body."""
    request = struct.pack(">ii", xid, opcode) + body
    stream.sendall(struct.pack(">i", len(request)) + request)
    (length,) = struct.unpack(">i", receive(stream, 4))
    reply = receive(stream, length)
    _xid, _zxid, error = struct.unpack(">iqi", reply[:16])
    return error, reply[16:]


def zookeeper_acl(stream: ssl.SSLSocket, path: str) -> list[tuple[int, str, str]]:
    """A znode's ACL: (permissions, scheme, id) of each entry."""
    error, body = zookeeper_call(stream, 1, GET_ACL, jute_string(path))
    assert error == 0, f"getACL {path}: error {error}"
    (count,), offset, entries = struct.unpack(">i", body[:4]), 4, []
    for _ in range(count):
        (permissions,), offset = struct.unpack(">i", body[offset : offset + 4]), offset + 4
        fields = []
        for _field in range(2):
            (size,), offset = struct.unpack(">i", body[offset : offset + 4]), offset + 4
            fields.append(body[offset : offset + size].decode())
            offset += size
        entries.append((permissions, fields[0], fields[1]))
    return entries


def zookeeper_delete(stream: ssl.SSLSocket, path: str) -> int:
    """Delete a znode whatever its version: ZooKeeper's error code (0 when it is gone)."""
    error, _body = zookeeper_call(stream, 2, DELETE, jute_string(path) + struct.pack(">i", -1))
    return error


def assert_another_organisations_identity_is_refused(
    kubectl: Kubectl, folder: Path, connect: Callable[[tuple[Path, Path]], object]
) -> None:
    """`connect` with a client certificate of the government's own TLS CA fails at the handshake: that CA chains
    to the same TLS root as the ordering service's, so a server trusting the root would let it through."""
    identity = client_identity(kubectl, "ca1", "tlsca-ca1", folder)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(identity)


def kafka_call(
    layout: Layout,
    kubectl: Kubectl,
    tls_root: bytes,
    identity: tuple[Path, Path],
    *,
    api_key: int,
    version: int,
    body: bytes,
) -> tuple[int, bytes]:
    """One Kafka request through the brokers' Service over mutual TLS (header v1, correlation ID 7): the answer's
    correlation ID and body."""
    context = ssl.create_default_context(cadata=tls_root.decode())
    context.load_cert_chain(*identity)
    request = struct.pack(">hhih", api_key, version, 7, 4) + b"test" + body
    address = target(layout, service_address(kubectl, "kafka"))
    with (
        socket.create_connection((address, KAFKA_PORT), timeout=15) as raw,
        context.wrap_socket(raw, server_hostname=f"{KAFKA}.{NAMESPACE}.svc") as stream,
    ):
        stream.sendall(struct.pack(">i", len(request)) + request)
        (length,) = struct.unpack(">i", receive(stream, 4))
        answer = receive(stream, length)
    return int(struct.unpack(">i", answer[:4])[0]), answer[4:]


class KafkaReader:
    """Kafka's big-endian fields, read in order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def number(self, form: str) -> int:
        (value,) = struct.unpack_from(f">{form}", self.data, self.offset)
        self.offset += struct.calcsize(form)
        return int(value)

    def string(self) -> str:
        length = self.number("h")
        text = self.data[self.offset : self.offset + max(length, 0)].decode()
        self.offset += max(length, 0)
        return text


def topic_metadata(
    layout: Layout, kubectl: Kubectl, tls_root: bytes, identity: tuple[Path, Path], topic: str
) -> tuple[int, list[int]]:
    """Metadata (v1) of one topic as the identity may see it: its error code and each partition's replica count."""
    request = struct.pack(">ih", 1, len(topic)) + topic.encode()
    _correlation, body = kafka_call(layout, kubectl, tls_root, identity, api_key=METADATA, version=1, body=request)
    reader = KafkaReader(body)
    for _broker in range(reader.number("i")):
        reader.number("i"), reader.string(), reader.number("i"), reader.string()  # ID, host, port, rack
    reader.number("i")  # the controller
    assert reader.number("i") == 1, "one topic asked about, one answered"
    error, _name, _internal = reader.number("h"), reader.string(), reader.number("b")
    replicas = []
    for _partition in range(reader.number("i")):
        reader.number("h"), reader.number("i"), reader.number("i")  # its error, index and leader
        replicas.append(reader.number("i"))
        reader.offset += 4 * replicas[-1]
        reader.offset += 4 * reader.number("i")  # the in-sync replicas
    return error, replicas


def registrar(kubectl: Kubectl, server: str, ca_name: str, ca_address: str, tls_root: bytes) -> Identity:
    """The CA server's registrar, enrolled with the secret the cluster keeps for it (as its operator can)."""
    encoded = kubectl("--namespace", NAMESPACE, "get", "secret", f"{RELEASE}-fabric-ca-{server}-registrar",
                      "-o", "jsonpath={.data.secret}")  # fmt: skip
    enrolled = enrolment.enrol(ca_address, ca_name, "registrar", base64.b64decode(encoded).decode(), tls_root)
    return Identity("registrar", enrolled.certificate_pem, enrolled.key)


@dataclass(frozen=True)
class LedgerUser:
    """A client of the peers: its signing identity and its TLS certificate (with its chain) and key."""

    identity: Identity
    tls_certificate: bytes
    tls_key: bytes = field(repr=False)


def new_user(
    kubectl: Kubectl, tls_root: bytes, organisation: dict[str, str] = HOSPITAL, attributes: dict[str, str] | None = None
) -> LedgerUser:
    """A member of `organisation` (a patient of the hospital by default) under a pseudonym as the registry makes
    them, registered at its enrolment CA (with `attributes` in its certificate) and its TLS CA, enrolled from here."""
    server = organisation["server"]
    address = f"{RELEASE}-fabric-ca-{server}.{NAMESPACE}.svc:7054"
    name, secret = f"pid-{secrets.token_hex(30)}", secrets.token_urlsafe(18)
    enrolment_ca = f"ca-{organisation['name'].lower()}"
    enrolled = {}
    for ca_name in (enrolment_ca, f"tlsca-{server}"):
        enrolment.register(
            address, ca_name, registrar(kubectl, server, ca_name, address, tls_root), tls_root,
            enrolment_id=name, secret=secret, affiliation=organisation["name"].lower(),
            attributes=(attributes or {}) if ca_name == enrolment_ca else {},
        )  # fmt: skip
        tls_profile = ca_name.startswith("tls")
        enrolled[ca_name] = enrolment.enrol(address, ca_name, name, secret, tls_root, tls_profile=tls_profile)
    msp, tls = enrolled[enrolment_ca], enrolled[f"tlsca-{server}"]
    identity = Identity(organisation["msp_id"], msp.certificate_pem, msp.key)
    return LedgerUser(identity, tls.certificate_pem + tls.chain_pem, tls.key_pem())


def new_patient(kubectl: Kubectl, tls_root: bytes) -> LedgerUser:
    return new_user(kubectl, tls_root, HOSPITAL, {"medledger.role": "patient"})


def hospital_admin(kubectl: Kubectl) -> LedgerUser:
    """The hospital organisation's admin, from the Secrets its channel Job keeps it in (as its operator can): a
    channel's lifecycle answers the organisations' admins and peers, not their clients."""
    admin = f"{RELEASE}-{HOSPITAL['name'].lower()}-admin"
    msp, tls = secret(kubectl, f"{admin}-msp"), secret(kubectl, f"{admin}-tls")
    key = serialization.load_pem_private_key(msp["key.pem"], password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return LedgerUser(Identity(HOSPITAL["msp_id"], msp["cert.pem"], key), tls["tls.crt"] + tls["truststore.pem"],
                      tls["tls.key"])  # fmt: skip


def gateway(layout: Layout, kubectl: Kubectl, peer: str, user: LedgerUser, tls_root: bytes) -> Gateway:
    """The peer's Gateway, reached by its pod's address and checked for the name its certificate carries."""
    pod = f"{RELEASE}-{peer}-0"
    address = target(layout, kubectl("--namespace", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"))
    endpoint = Endpoint(f"{address}:{PEER_PORT}", tls_root, user.tls_certificate, user.tls_key,
                        server_name=f"{pod}.{RELEASE}-{peer}.{NAMESPACE}.svc.cluster.local")  # fmt: skip
    return Gateway(endpoint, user.identity)


def service_as(service: str, signer: Identity, tls_root: bytes, site: str | None = None) -> ServiceClient:
    """A service of the release (at the site inventories/paper puts it, or `site`) by the name its certificate
    carries (the test resolves it to the cluster: the `cluster_names` fixture), as `signer`."""
    default_site, port = SERVICES[service]
    name = f"{RELEASE}-{service.replace('_', '-')}-{site or default_site}.{NAMESPACE}.svc"
    return ServiceClient(f"{name}:{port}", AUDIENCES[service], signer, tls_root)


def staff(kubectl: Kubectl, tls_root: bytes) -> dict[str, Identity]:
    """The hospital's and the third party's managers and the government's SA, registered by their CAs."""
    wanted = {
        "manager": (HOSPITAL, "manager"),
        "thirdparty_manager": (THIRD_PARTY, "manager"),
        "sa": (GOVERNMENT, "sa"),
    }
    return {name: new_user(kubectl, tls_root, organisation, {"medledger.role": role}).identity
            for name, (organisation, role) in wanted.items()}  # fmt: skip


def registered(
    tls_root: bytes, organisation: dict[str, str], role: Role, manager: Identity, sa: Identity
) -> Registered:
    """Someone of `organisation` registered through the cluster's registry (register_person)."""
    server = organisation["server"]
    ca = CaServer(f"{RELEASE}-fabric-ca-{server}.{NAMESPACE}.svc:7054", f"ca-{organisation['name'].lower()}",
                  f"tlsca-{server}", tls_root)  # fmt: skip
    return register_person(lambda signer: service_as("registry", signer, tls_root), manager, sa,
                           msp_id=organisation["msp_id"], role=role, ca=ca)  # fmt: skip


def ledger_user(person: Registered) -> LedgerUser:
    return LedgerUser(person.identity, person.tls.certificate_pem + person.tls.chain_pem, person.tls.key_pem())
