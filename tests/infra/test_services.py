"""The services on the lab, against their PostgreSQL and the lab's real CAs. The registry (roles/registry): a
manager's request, the SA's approval, the pseudonym registered at the person's organisation's CAs, the person
enrolling under it with its own key, the certificate directory. The hospital managers (roles/hospital_manager):
appointments and the TSK only the doctor opens. The storage service (roles/storage) and SeaweedFS behind it
(roles/seaweedfs): records stored under their digest, read by their owner and granted receivers only, audited.
And the refusals."""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import ssl
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api.common import Role
from medledger_api.entities import PatientDataEntity, patient_signature_message
from medledger_api.signed_request import certificate_attributes, check_signature, content_digest, sign_request
from medledger_api.storage import Grant
from medledger_client import appointments, cli, enrolment, registration, sharing, storage
from medledger_client.identity import Identity
from medledger_client.records import open_record
from medledger_client.sealed_box import SealedBoxError, open_sealed
from medledger_client.service_client import ServiceClient, ServiceError
from medledger_client.sharing_keys import SharingKeys, unwrap_own
from medledger_registry.pseudonyms import RID_CONTEXT, pid_of
from medledger_service_base import trust
from medledger_tools.lab_clients import Ledger, LedgerClient
from medledger_tools.lab_services import Person, Services, sealed_record

from ..openapi_conformance import assert_deployed_conforms
from ..waiting import wait_until
from .conftest import ansible_run, deployed, lab_host, plaintext_answer, role_var

LEDGER = Ledger(deployed())
SERVICES = Services(LEDGER)
REGISTRY_HOST = deployed().members("registry")[0]
STORAGE_HOST = deployed().members("storage")[0]
registry_as = partial(SERVICES.client, "registry")
storage_as = partial(SERVICES.client, "storage")
sharing_proxy_as = partial(SERVICES.client, "sharing_proxy")
register = SERVICES.register
ca_address = SERVICES.ca_address


def hospital_manager_as(host: str, signer: Identity) -> ServiceClient:
    return SERVICES.client("hospital_manager", signer, host)


pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LedgerClient]:
    return SERVICES.staff(tmp_path_factory.mktemp("staff"))


@pytest.fixture(scope="module")
def patient(staff: dict[str, LedgerClient]) -> Person:
    return register(staff["manager"], staff["sa"], "OrgPatient", Role.PATIENT)


def test_a_registered_patient_holds_a_certificate_for_its_own_key_under_the_papers_pseudonym(
    patient: Person, staff: dict[str, LedgerClient]
) -> None:
    certificate = patient.identity.certificate
    sealed = base64.b64decode(str(patient.registration.sealed_rid))
    assert patient.identity.enrolment_id == patient.registration.pid == pid_of(sealed)
    assert open_sealed(patient.identity.private_key, sealed, RID_CONTEXT) == patient.rid.encode()
    assert certificate_attributes(certificate)["medledger.role"] == "patient"
    # The secret was handed out once, and enrols once.
    again = registration.collect(registry_as(staff["manager"].identity), patient.registration.request_id)
    assert again.enrolment_secret is None
    with pytest.raises(enrolment.EnrolmentError):
        enrolment.enrol(
            ca_address("OrgPatient"), "ca-orgpatient", patient.identity.enrolment_id, patient.secret, LEDGER.tls_root()
        )


def test_the_same_person_cannot_register_twice(patient: Person, staff: dict[str, LedgerClient]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ServiceError) as refused:
        registration.ask(registry_as(staff["manager"].identity), f" {patient.rid}", Role.DOCTOR, "OrgPatientMSP", key)
    assert (refused.value.status, refused.value.detail) == (
        409,
        "this person is already registered or being registered",
    )


def test_only_the_governments_sa_approves(staff: dict[str, LedgerClient]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    asked = registration.ask(
        registry_as(staff["manager"].identity), f"lab-{secrets.token_hex(8)}", Role.DOCTOR, "OrgPatientMSP", key
    )
    for who in ("manager", "hospital_sa"):
        with pytest.raises(ServiceError) as refused:
            registration.approve(registry_as(staff[who].identity), asked.request_id)
        assert refused.value.status == 403
    assert asked.request_id in {entry.request_id for entry in registration.pending(registry_as(staff["sa"].identity))}


def test_a_third_party_user_reads_a_patients_keys_and_checks_their_signature(
    patient: Person, staff: dict[str, LedgerClient]
) -> None:
    keys = patient.keys
    mindray = register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    entry = registration.look_up(registry_as(mindray.identity), str(patient.registration.pid))
    assert (entry.msp_id, entry.role, entry.sharing_keys.public_key) == (
        "OrgPatientMSP",
        Role.PATIENT,
        keys.public_key.hex(),
    )
    assert x509.load_pem_x509_certificate(entry.certificate.encode()) == patient.identity.certificate


def test_a_certificate_the_registry_did_not_register_cannot_publish_keys(tmp_path: Path) -> None:
    """A member of the hospital that its CA enrolled directly, with a pseudonym-shaped name and a patient's role."""
    stranger = LEDGER.new_client(
        "OrgPatient", tmp_path, "", {"medledger.role": "patient"}, enrolment_id=f"pid-{secrets.token_hex(30)}"
    )
    with pytest.raises(ServiceError) as refused:
        registration.publish_keys(
            registry_as(stranger.identity), stranger.identity, stranger.name, SharingKeys.generate()
        )
    assert (refused.value.status, refused.value.detail) == (403, "the registry did not register this pseudonym")


def send_raw(registry: ServiceClient, headers: dict[str, str], path: str) -> tuple[int, Any]:
    """One GET with the headers given, as they are: the client would sign each request anew."""
    host, port = registry.address.split(":")
    context = ssl.create_default_context(cadata=registry.ca_pem.decode())
    connection = http.client.HTTPSConnection(host, int(port), context=context)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_replayed_request_is_refused(patient: Person) -> None:
    path = f"/directory/{patient.registration.pid}"
    headers = sign_request(patient.identity, audience="registry", method="GET", path=path, digest=content_digest(b""))
    registry = registry_as(patient.identity)
    first, _ = send_raw(registry, headers, path)
    assert first in {200, 404}
    assert send_raw(registry, headers, path) == (401, {"detail": "replayed request: this nonce was already used"})


SERVICE_PORTS = {name: int(spec["port"]) for name, spec in deployed().global_var("medledger_services").items()}
SERVICE_HOSTS = [(name, host) for name in SERVICE_PORTS for host in deployed().members(name)]


@pytest.mark.parametrize(("service", "service_host"), SERVICE_HOSTS)
def test_every_service_port_refuses_plaintext(service: str, service_host: str) -> None:
    address = str(deployed().hostvars[service_host]["ansible_host"])
    answer = plaintext_answer(address, SERVICE_PORTS[service], b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not answer.startswith(b"HTTP/"), answer


@pytest.mark.parametrize(("service", "service_host"), SERVICE_HOSTS)
def test_every_services_secret_files_are_its_users_alone(service: str, service_host: str) -> None:
    host = lab_host(service_host)
    user = deployed().hostvars[service_host]["medledger_service_users"][service]
    secrets_found = host.check_output(f"find /etc/medledger/services/{service} -type f ! -name settings.json").split()
    assert f"/etc/medledger/services/{service}/database.password" in secrets_found
    for path in secrets_found:
        found = host.file(path)
        assert (found.user, found.mode) == (user, 0o600), path


def test_the_registrys_registrar_keys_are_its_alone_and_no_rid_or_secret_is_kept_or_logged(patient: Person) -> None:
    host = lab_host(REGISTRY_HOST)
    user = deployed().hostvars[REGISTRY_HOST]["medledger_service_users"]["registry"]
    keys = [
        str(path)
        for path in host.check_output(
            "ls /etc/medledger/fabric/svc-registry-*/msp/keystore/* /etc/medledger/fabric/svc-registry-*/tls/server.key"
        ).split()
    ]
    for path in keys:
        found = host.file(path)
        assert (found.user, found.mode) == (user, 0o600), path
    dump = host.check_output("runuser -u postgres -- pg_dump --data-only registry")
    assert "registrations" in dump and patient.rid not in dump and patient.secret not in dump
    journal = host.check_output("journalctl --no-pager -u medledger-registry")
    assert patient.rid not in journal and patient.secret not in journal


@pytest.fixture(scope="module")
def doctor(staff: dict[str, LedgerClient]) -> Person:
    return register(staff["manager"], staff["sa"], "OrgPatient", Role.DOCTOR)


def test_a_patient_books_at_a_hospital_and_only_its_doctor_opens_the_tsk(patient: Person, doctor: Person) -> None:
    """The paper's phase ②, at each hospital of the patient's organisation."""
    for host in deployed().members("hospital_manager"):
        booked = appointments.book(
            hospital_manager_as(host, patient.identity), doctor.pid, f"chest pain, seen at {host}"
        )
        (seen,) = [
            found for found in appointments.mine(hospital_manager_as(host, doctor.identity)) if found.tid == booked.tid
        ]
        tsk = appointments.open_tsk(doctor.identity.private_key, seen)
        assert (tsk.pid, tsk.disease, seen.hospital) == (
            patient.pid,
            f"chest pain, seen at {host}",
            deployed().hostvars[host]["fabric_peer_name"],
        )
        assert x509.load_pem_x509_certificate(tsk.patient_certificate.encode()) == patient.identity.certificate
        with pytest.raises(SealedBoxError):
            appointments.open_tsk(patient.identity.private_key, seen)
        assert booked.tid in {found.tid for found in appointments.mine(hospital_manager_as(host, patient.identity))}


def test_a_third_party_user_or_an_unregistered_doctor_gets_no_appointment(
    patient: Person, staff: dict[str, LedgerClient], tmp_path: Path
) -> None:
    host = deployed().members("hospital_manager")[0]
    mindray = register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    with pytest.raises(ServiceError) as outsider:
        appointments.book(hospital_manager_as(host, mindray.identity), patient.pid, "anything")
    assert outsider.value.status == 403
    # A hospital member the CA enrolled directly with a doctor's role, never registered by the registry.
    stranger = LEDGER.new_client(
        "OrgPatient", tmp_path, "", {"medledger.role": "doctor"}, enrolment_id=f"pid-{secrets.token_hex(30)}"
    )
    with pytest.raises(ServiceError) as unknown:
        appointments.book(hospital_manager_as(host, patient.identity), stranger.name, "anything")
    assert (unknown.value.status, unknown.value.detail) == (422, "the doctor is not in the registry's directory")


def test_a_patient_stores_a_sealed_record_and_reads_it_back_and_the_read_is_audited(
    patient: Person, tmp_path: Path
) -> None:
    ciphertext, plaintext, sealed = sealed_record(patient, tmp_path)
    stored = storage.store(storage_as(patient.identity), ciphertext)
    assert (stored.sha384, stored.size, stored.owner) == (sealed.digest, ciphertext.stat().st_size, patient.pid)
    fetched = storage.fetch(storage_as(patient.identity), sealed.digest, tmp_path / "fetched")
    data_key = unwrap_own(patient.keys.secret_key, sealed.wrapped_key)
    open_record(fetched, data_key, tmp_path / "emr.out", tmp_path / "shr.out")
    assert (tmp_path / "emr.out").read_bytes() + (tmp_path / "shr.out").read_bytes() == plaintext
    trail = storage.reads(storage_as(patient.identity))
    assert (sealed.digest, patient.pid) in {(read.sha384, read.reader) for read in trail}


def test_a_third_party_reads_a_record_only_once_the_governments_proxy_granted_it(
    patient: Person, staff: dict[str, LedgerClient], tmp_path: Path
) -> None:
    ciphertext, _, sealed = sealed_record(patient, tmp_path, size=4096)
    storage.store(storage_as(patient.identity), ciphertext)
    mindray = register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    with pytest.raises(ServiceError) as refused:
        storage.fetch(storage_as(mindray.identity), sealed.digest, tmp_path / "stolen")
    assert refused.value.status == 403 and not (tmp_path / "stolen").exists()
    grant = {"receiver": mindray.pid, "receiver_msp_id": "OrgThirdPartyMSP"}
    hospital_proxy = LEDGER.new_client("OrgPatient", tmp_path, "proxy", {"medledger.proxy": "true"})
    with pytest.raises(ServiceError) as not_the_proxy:
        storage_as(hospital_proxy.identity).call("POST", f"/objects/{sealed.digest}/grants", Grant(**grant))
    assert not_the_proxy.value.status == 403
    proxy = LEDGER.new_client("OrgGovernment", tmp_path, "proxy", {"medledger.proxy": "true"})
    storage_as(proxy.identity).call("POST", f"/objects/{sealed.digest}/grants", Grant(**grant))
    storage.fetch(storage_as(mindray.identity), sealed.digest, tmp_path / "shared")
    assert (tmp_path / "shared").read_bytes() == ciphertext.read_bytes()


TAMPER_SCRIPT = """
import boto3, sys
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="https://127.0.0.1:8333", aws_access_key_id="medledger-storage",
                  aws_secret_access_key=open("/etc/medledger/services/storage/s3.secret").read().strip(),
                  region_name="us-east-1", verify=sys.argv[2], config=Config(s3={"addressing_style": "path"}))
key = "objects/" + sys.argv[1]
data = bytearray(s3.get_object(Bucket="records", Key=key)["Body"].read())
data[len(data) // 2] ^= 1
s3.put_object(Bucket="records", Key=key, Body=bytes(data))
"""


def test_a_record_altered_in_the_store_is_detected_when_it_is_fetched(patient: Person, tmp_path: Path) -> None:
    """Root on the storage host flips one bit of a stored object behind the service's back."""
    ciphertext, _, sealed = sealed_record(patient, tmp_path, size=8192)
    storage.store(storage_as(patient.identity), ciphertext)
    ca = f"/etc/medledger/fabric/{deployed().hostvars[STORAGE_HOST]['fabric_peer_name']}-storage/tls/ca.crt"
    lab_host(STORAGE_HOST).check_output(
        f"/opt/medledger/services-venv/bin/python -c '{TAMPER_SCRIPT}' {sealed.digest} {ca}"
    )
    with pytest.raises(storage.StorageError, match="altered"):
        storage.fetch(storage_as(patient.identity), sealed.digest, tmp_path / "fetched")
    assert not (tmp_path / "fetched").exists()


def test_the_object_store_listens_on_loopback_only_and_speaks_tls_on_every_http_port() -> None:
    """Its HTTP ports (master, volume, filer, S3) and their gRPC ports (10000 more)."""
    http_ports = tuple(
        int(role_var("seaweedfs", f"seaweedfs_{part}_port", STORAGE_HOST))
        for part in ("master", "volume", "filer", "s3")
    )
    bound = lab_host(STORAGE_HOST).socket.get_listening_sockets()
    for port in (*http_ports, *(port + 10000 for port in http_ports)):
        assert {spec for spec in bound if spec.endswith(f":{port}")} == {f"tcp://127.0.0.1:{port}"}, port
    for port in http_ports:
        answer = plaintext_answer("127.0.0.1", port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", source=STORAGE_HOST)
        assert b"Client sent an HTTP request to an" in answer, (port, answer)


PATIENT_CHANNEL, USAGE_CHANNEL = "patientchannel", "datausagechannel"


def chaincode(channel: str) -> str:
    return LEDGER.chaincode_on(channel)


def _one(records: list[dict[str, Any]]) -> bool:
    return len(records) == 1


def test_the_papers_whole_path_from_appointment_to_a_verified_share(
    patient: Person, doctor: Person, staff: dict[str, LedgerClient], tmp_path: Path
) -> None:
    """Phases ② to ⑧ with a 1 MB EMR and SHR: an appointment, the record sealed, stored and indexed, queried and
    verified by the patient, shared with a mindray user through the proxy, who verifies and opens it; the usage
    record on every peer of the Data Usage Channel; and the proxy's host knows neither the data nor its key."""
    hospital = deployed().members("hospital_manager")[0]
    booked = appointments.book(hospital_manager_as(hospital, patient.identity), doctor.pid, "post-operative review")
    (seen,) = [
        found for found in appointments.mine(hospital_manager_as(hospital, doctor.identity)) if found.tid == booked.tid
    ]
    treatment = appointments.open_tsk(doctor.identity.private_key, seen).tid

    ciphertext, plaintext, sealed = sealed_record(patient, tmp_path)
    record = SERVICES.store_and_index(patient, doctor, treatment, ciphertext, sealed.digest)
    with patient.gateway(LEDGER.channel_peers(PATIENT_CHANNEL)[0]) as gateway:
        records = gateway.contract(PATIENT_CHANNEL, chaincode(PATIENT_CHANNEL))
        # The patient's query: the index record, its digest and both signatures, then the data itself.
        found = PatientDataEntity.from_wire(json.loads(records.evaluate("QueryByPidAndTid", patient.pid, treatment)))
    assert found == record
    sharing.check_record_signature(found, patient.identity.certificate)
    doctor_message = patient_signature_message(found.data_message_digest, patient.pid)
    check_signature(
        doctor.identity.certificate,
        base64.b64encode(bytes.fromhex(found.data_signature_doctor)).decode(),
        doctor_message,
    )
    storage.fetch(storage_as(patient.identity), found.data_message_digest, tmp_path / "own.sealed")
    open_record(
        tmp_path / "own.sealed",
        unwrap_own(patient.keys.secret_key, sealed.wrapped_key),
        tmp_path / "emr.own",
        tmp_path / "shr.own",
    )
    assert (tmp_path / "emr.own").read_bytes() + (tmp_path / "shr.own").read_bytes() == plaintext

    mindray = register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    receiver_entry = registration.look_up(registry_as(patient.identity), mindray.pid)
    shared = sharing.share(
        sharing_proxy_as(patient.identity), patient.keys, receiver_entry, treatment, sealed.wrapped_key
    )
    patient_entry = registration.look_up(registry_as(mindray.identity), patient.pid)
    received = sharing.receive(sharing_proxy_as(mindray.identity), shared.share_id, mindray.keys, patient_entry)
    assert received.record == record
    storage.fetch(storage_as(mindray.identity), received.record.data_message_digest, tmp_path / "shared.sealed")
    sharing.check_ciphertext(received.record, tmp_path / "shared.sealed")
    open_record(tmp_path / "shared.sealed", received.data_key, tmp_path / "emr.shared", tmp_path / "shr.shared")
    assert (tmp_path / "emr.shared").read_bytes() + (tmp_path / "shr.shared").read_bytes() == plaintext

    # The usage record, on every peer of the Data Usage Channel once each has the block (bounded wait).
    for peer in LEDGER.channel_peers(USAGE_CHANNEL):
        read = partial(SERVICES.usage_records, patient, peer, patient.pid, treatment)
        found_usage = wait_until(read, _one, seconds=60)
        assert [(entry["receiverPseudonymId"], entry["dataMessageDigest"]) for entry in found_usage] == [
            (mindray.pid, sealed.digest)
        ], peer

    proxy_host = lab_host(deployed().members("sharing_proxy")[0])
    sample = next(
        plaintext[offset : offset + 48]
        for offset in range(0, len(plaintext), 48)
        if b"\n" not in plaintext[offset : offset + 48]
    )
    key = received.data_key
    dump = proxy_host.check_output(
        "for db in $(runuser -u postgres -- psql -Atc 'select datname from pg_database where not datistemplate');"
        " do runuser -u postgres -- pg_dump $db; done"
    )
    assert "shares" in dump  # the proxy's database is in the dump
    textual = {"plaintext": sample.hex(), "data key": key.hex(), "data key (base64)": base64.b64encode(key).decode()}
    for what, text in textual.items():
        assert text not in dump, what
        assert found_on_host(proxy_host, text.encode()) == "", what
    for what, raw in {"plaintext": sample, "data key": key}.items():
        if b"\n" not in raw:  # grep -f reads one pattern per line
            assert found_on_host(proxy_host, raw) == "", what


def found_on_host(host: Any, needle: bytes) -> str:
    """The files under the host's configuration, state, databases and logs that contain `needle`."""
    host.check_output(
        'python3 -c \'import sys; open("/root/needle", "wb").write(bytes.fromhex(sys.argv[1]))\' ' + needle.hex()
    )
    found = host.run("grep -rlaF -f /root/needle /etc/medledger /var/lib/medledger /var/lib/postgresql /var/log /tmp")
    return str(found.stdout).strip()


def test_a_revoked_share_is_not_delivered_and_records_no_usage(
    patient: Person, doctor: Person, staff: dict[str, LedgerClient], tmp_path: Path
) -> None:
    treatment = f"t-{secrets.token_hex(4)}"
    ciphertext, _, sealed = sealed_record(patient, tmp_path, size=4096)
    SERVICES.store_and_index(patient, doctor, treatment, ciphertext, sealed.digest)
    mindray = register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    receiver_entry = registration.look_up(registry_as(patient.identity), mindray.pid)
    shared = sharing.share(
        sharing_proxy_as(patient.identity), patient.keys, receiver_entry, treatment, sealed.wrapped_key
    )
    sharing.revoke(sharing_proxy_as(patient.identity), shared.share_id)
    patient_entry = registration.look_up(registry_as(mindray.identity), patient.pid)
    with pytest.raises(ServiceError) as refused:
        sharing.receive(sharing_proxy_as(mindray.identity), shared.share_id, mindray.keys, patient_entry)
    assert (refused.value.status, refused.value.detail) == (410, "the patient revoked this share")
    assert SERVICES.usage_records(patient, LEDGER.channel_peers(USAGE_CHANNEL)[0], patient.pid, treatment) == []
    with pytest.raises(ServiceError) as unreadable:
        storage.fetch(storage_as(mindray.identity), sealed.digest, tmp_path / "stolen")
    assert unreadable.value.status == 403


def cli_settings(person: Person, folder: Path) -> Path:
    """The `medledger` command's settings for `person`: its enrolment and TLS client certificate, a peer of the
    Patient Channel, every service, its own Umbral keys file and keyring."""
    folder.mkdir(parents=True)
    enrolment.Enrolled(person.identity.certificate_pem, b"", person.identity.private_key).write_msp(folder / "msp")
    person.tls.write_tls(folder / "tls")
    peer = LEDGER.channel_peers(PATIENT_CHANNEL)[0]
    address, chain = LEDGER.peer_endpoint(peer)
    (folder / "peer-ca.pem").write_bytes(chain)

    def endpoint(name: str, host: str | None = None) -> dict[str, str]:
        client = SERVICES.client(name, person.identity, host)
        ca = folder / f"{name}-{host or 'first'}-ca.pem"
        ca.write_bytes(client.ca_pem)
        return {"address": client.address, "tls_ca": str(ca)}

    settings = {
        "peer": address,
        "tls_ca": str(folder / "peer-ca.pem"),
        "tls_cert": str(folder / "tls" / "server.crt"),
        "tls_key": str(folder / "tls" / "server.key"),
        "msp_dir": str(folder / "msp"),
        "msp_id": person.identity.msp_id,
        "index": {"channel": PATIENT_CHANNEL, "chaincode": chaincode(PATIENT_CHANNEL)},
        "usage": {"channel": USAGE_CHANNEL, "chaincode": chaincode(USAGE_CHANNEL)},
        "services": {
            **{name: endpoint(name) for name in ("registry", "storage", "sharing_proxy")},
            "hospital_managers": {
                str(deployed().hostvars[host]["fabric_peer_name"]): endpoint("hospital_manager", host)
                for host in deployed().members("hospital_manager")
            },
        },
        "sharing_keys": str(folder / "umbral.keys"),
        "keyring": str(folder / "keyring"),
    }
    (folder / "client.json").write_text(json.dumps(settings))
    return folder / "client.json"


def medledger(settings: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    status = cli.main(["--config", str(settings), *args])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)


def test_the_medledger_command_takes_a_record_from_appointment_to_a_verified_share(
    patient: Person, doctor: Person, staff: dict[str, LedgerClient], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The data client's CLI over the same path, each party with its own settings (new Umbral keys, published)."""
    mindray = register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    as_patient, as_doctor, as_mindray = (
        cli_settings(person, tmp_path / name)
        for person, name in ((patient, "patient"), (doctor, "doctor"), (mindray, "mindray"))
    )
    for settings in (as_patient, as_mindray):
        medledger(settings, capsys, "keys", "init")
        medledger(settings, capsys, "directory", "publish")
    hospital = str(deployed().hostvars[deployed().members("hospital_manager")[0]]["fabric_peer_name"])
    booked = medledger(
        as_patient,
        capsys,
        "appointment",
        "book",
        "--hospital",
        hospital,
        "--doctor",
        doctor.pid,
        "--disease",
        "follow-up",
    )
    tsk = medledger(as_doctor, capsys, "appointment", "open", "--hospital", hospital, booked["tid"])
    assert (tsk["pid"], tsk["disease"]) == (patient.pid, "follow-up")

    (tmp_path / "emr").write_bytes(secrets.token_bytes(300_000))
    (tmp_path / "shr").write_bytes(secrets.token_bytes(200_000))
    sealed = medledger(
        as_patient,
        capsys,
        "record",
        "seal",
        "--emr",
        str(tmp_path / "emr"),
        "--shr",
        str(tmp_path / "shr"),
        "--out",
        str(tmp_path / "sealed"),
    )
    signed = medledger(as_doctor, capsys, "record", "sign", "--digest", sealed["digest"], "--patient", patient.pid)
    medledger(
        as_patient,
        capsys,
        "record",
        "put",
        "--treatment",
        booked["tid"],
        "--sealed",
        str(tmp_path / "sealed"),
        "--doctor",
        doctor.pid,
        "--doctor-signature",
        signed["doctor_signature"],
    )
    medledger(
        as_patient,
        capsys,
        "record",
        "get",
        "--treatment",
        booked["tid"],
        "--emr",
        str(tmp_path / "emr.own"),
        "--shr",
        str(tmp_path / "shr.own"),
    )
    assert (tmp_path / "emr.own").read_bytes() == (tmp_path / "emr").read_bytes()
    assert (tmp_path / "shr.own").read_bytes() == (tmp_path / "shr").read_bytes()

    shared = medledger(as_patient, capsys, "share", "create", "--treatment", booked["tid"], "--receiver", mindray.pid)
    received = medledger(
        as_mindray,
        capsys,
        "share",
        "receive",
        shared["share_id"],
        "--patient",
        patient.pid,
        "--emr",
        str(tmp_path / "emr.shared"),
        "--shr",
        str(tmp_path / "shr.shared"),
    )
    assert received["verified"] and received["record"]["dataMessageDigest"] == sealed["digest"]
    assert (tmp_path / "emr.shared").read_bytes() == (tmp_path / "emr").read_bytes()
    assert (tmp_path / "shr.shared").read_bytes() == (tmp_path / "shr").read_bytes()


def test_a_certificate_revoked_at_its_ca_is_refused_by_every_service_without_a_restart(
    staff: dict[str, LedgerClient],
) -> None:
    person = register(staff["manager"], staff["sa"], "OrgPatient", Role.PATIENT)
    registration.look_up(registry_as(person.identity), person.pid)
    revoked = ansible_run("playbooks/revoke.yml", "-e", f"identity={person.pid}", "-e", "organisation=OrgPatient")
    assert revoked.returncode == 0, revoked.stdout[-3000:]
    time.sleep(trust.CHECK_SECONDS + 0.5)  # the services look at their trust folders at most this often
    calls: dict[str, Callable[[], object]] = {
        "registry": partial(registration.look_up, registry_as(person.identity), person.pid),
        "storage": partial(storage.reads, storage_as(person.identity)),
        "sharing proxy": partial(sharing.shares, sharing_proxy_as(person.identity)),
    }
    for service, call in calls.items():
        with pytest.raises(ServiceError) as refused:
            call()
        assert (refused.value.status, refused.value.detail) == (401, "the request's certificate is revoked"), service


@pytest.fixture(scope="module")
def mindray(staff: dict[str, LedgerClient]) -> Person:
    return register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)


@pytest.fixture(scope="module")
def callers(
    staff: dict[str, LedgerClient], patient: Person, doctor: Person, mindray: Person
) -> dict[str, list[Identity]]:
    """Each kind of caller each service serves."""
    return {
        "registry": [staff["manager"].identity, staff["sa"].identity, patient.identity],
        "hospital_manager": [patient.identity, doctor.identity],
        "storage": [patient.identity, mindray.identity],
        "sharing_proxy": [patient.identity, mindray.identity],
    }


@pytest.mark.parametrize("service", list(SERVICE_PORTS))
def test_generated_requests_to_each_deployed_service_get_no_5xx_and_answers_that_conform(
    service: str, callers: dict[str, list[Identity]], tmp_path: Path
) -> None:
    """schemathesis against the service's own OpenAPI document, signed by each kind of caller it serves."""
    for caller in callers[service]:
        client = SERVICES.client(service, caller)
        ca_file = tmp_path / f"{service}-ca.pem"
        ca_file.write_bytes(client.ca_pem)
        assert_deployed_conforms(f"https://{client.address}", str(ca_file), caller, client.audience, examples=10)


def test_every_service_runs_from_the_venv_of_the_artifact_its_host_installed() -> None:
    """Each unit names the venv of its host's services artifact, and its process runs from it. The units once ran
    the venv link a host's services share: a new version changed the link once and restarted only the first
    service of the host, the others kept running the old code until something else restarted them."""
    topology = deployed()
    for service in topology.global_var("medledger_services"):
        for name in topology.members(service):
            host = lab_host(name)
            link = f"{role_var('medledger_service', 'medledger_service_install_dir', name)}/services-venv"
            installed = host.check_output(f"readlink -f {link}")
            unit = f"medledger-{service.replace('_', '-')}"
            assert f"path={installed}/bin/{unit} " in host.check_output(f"systemctl show -p ExecStart --value {unit}")
            process = host.check_output(f"tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value {unit})/cmdline")
            assert process.startswith(f"{installed}/bin/python"), (name, unit, process)
