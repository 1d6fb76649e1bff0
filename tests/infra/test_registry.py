"""The registry on the lab (roles/registry): a manager's request, the SA's approval, the pseudonym registered at
the person's organisation's CAs, the person enrolling under it with its own key, the certificate directory; and
the refusals, against the deployed service, its PostgreSQL and the lab's real CAs."""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api.registry import Registration, Role
from medledger_api.signed_request import certificate_attributes, content_digest, sign_request
from medledger_client import enrolment, registration
from medledger_client.identity import Identity
from medledger_client.sealed_box import open_sealed
from medledger_client.service_client import ServiceClient, ServiceError
from medledger_client.sharing_keys import SharingKeys
from medledger_registry.pseudonyms import RID_CONTEXT, pid_of
from medledger_tools.lab_clients import CA_PORT, Ledger, LedgerClient, check_target

from .conftest import deployed, lab_host, plaintext_answer

pytestmark = pytest.mark.lab

LEDGER = Ledger(deployed())
REGISTRY_HOST = deployed().members("registry")[0]
MSP_IDS = {name: str(spec["msp_id"]) for name, spec in deployed().organisations.items()}


def registry_address() -> str:
    values = deployed().hostvars[REGISTRY_HOST]
    address = str(values["ansible_host"])
    check_target(address)
    return f"{address}:{values['medledger_services']['registry']['port']}"


def registry_as(signer: Identity) -> ServiceClient:
    """The registry, verified by the TLS CA chain of its host's organisation (the peer beside it has the same)."""
    _, chain = LEDGER.peer_endpoint(REGISTRY_HOST)
    return ServiceClient(registry_address(), registration.AUDIENCE, signer, chain)


@dataclass(frozen=True)
class Person:
    identity: Identity
    registration: Registration
    rid: str
    secret: str


def ca_address(organisation: str) -> str:
    address = str(deployed().hostvars[LEDGER.ca_host(organisation)]["ansible_host"])
    check_target(address)
    return f"{address}:{CA_PORT}"


def register(manager: LedgerClient, sa: LedgerClient, organisation: str, role: Role) -> Person:
    """The paper's phase ①: a key made here, the manager asks, the SA approves, the manager collects the
    secret, and the person enrols with that key under its pseudonym."""
    key = ec.generate_private_key(ec.SECP256R1())
    rid = f"lab-{secrets.token_hex(8)}"
    asked = registration.ask(registry_as(manager.identity), rid, role, MSP_IDS[organisation], key)
    registration.approve(registry_as(sa.identity), asked.request_id)
    collected = registration.collect(registry_as(manager.identity), asked.request_id)
    assert collected.pid is not None and collected.enrolment_secret is not None
    enrolled = enrolment.enrol(
        ca_address(organisation),
        f"ca-{organisation.lower()}",
        collected.pid,
        collected.enrolment_secret,
        LEDGER.tls_root(),
        key=key,
    )
    return Person(
        Identity(MSP_IDS[organisation], enrolled.certificate_pem, key), collected, rid, collected.enrolment_secret
    )


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LedgerClient]:
    folder = tmp_path_factory.mktemp("registry-staff")
    return {
        "manager": LEDGER.new_client("OrgPatient", folder, "manager", {"medledger.role": "manager"}),
        "thirdparty_manager": LEDGER.new_client("OrgThirdParty", folder, "manager", {"medledger.role": "manager"}),
        "sa": LEDGER.new_client("OrgGovernment", folder, "sa", {"medledger.role": "sa"}),
        "hospital_sa": LEDGER.new_client("OrgPatient", folder, "sa", {"medledger.role": "sa"}),
    }


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
    keys = SharingKeys.generate()
    registration.publish_keys(registry_as(patient.identity), patient.identity, str(patient.registration.pid), keys)
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


def send_raw(headers: dict[str, str], path: str) -> tuple[int, Any]:
    host, port = registry_address().split(":")
    _, chain = LEDGER.peer_endpoint(REGISTRY_HOST)
    connection = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cadata=chain.decode()))
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_replayed_request_is_refused(patient: Person) -> None:
    path = f"/directory/{patient.registration.pid}"
    headers = sign_request(patient.identity, audience="registry", method="GET", path=path, digest=content_digest(b""))
    first, _ = send_raw(headers, path)
    assert first in {200, 404}
    assert send_raw(headers, path) == (401, {"detail": "replayed request: this nonce was already used"})


def test_the_registry_port_refuses_plaintext() -> None:
    address, port = registry_address().split(":")
    answer = plaintext_answer(address, int(port), b"GET /openapi.json HTTP/1.1\r\nHost: registry\r\n\r\n")
    assert not answer.startswith(b"HTTP/")


def test_the_registrys_secrets_are_its_users_alone_and_no_rid_or_secret_is_kept_or_logged(patient: Person) -> None:
    host = lab_host(REGISTRY_HOST)
    user = deployed().hostvars[REGISTRY_HOST]["medledger_service_users"]["registry"]
    keys = ["/etc/medledger/services/registry/registry.keys", "/etc/medledger/services/registry/database.password"]
    keys += [
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
