"""The registry on the cluster (helm/registry), beside the government's peer with its PostgreSQL server, its keys and
its registrars at the hospital's and the third party's CAs made in the cluster: a hospital's manager asks for a
patient, the government's SA approves, the registry registers the pseudonym at the hospital's CAs and the patient
enrols it with its own key; another organisation's manager cannot ask for the hospital's people nor a manager
approve; the registry's own registrar, taken from its Secrets by an insider, registers nothing but clients."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_api.common import Role
from medledger_client import enrolment, registration
from medledger_client.identity import Identity
from medledger_client.service_client import ServiceClient, ServiceError
from medledger_tools.k8s.layout import Layout
from tests.k8s.clients import GOVERNMENT, HOSPITAL, THIRD_PARTY, new_user, secret
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl, helm_test

pytestmark = pytest.mark.k8s

SITE = "peergovernment"  # inventories/paper puts the registry beside this peer
REGISTRY = f"{RELEASE}-registry-{SITE}.{NAMESPACE}.svc"
HOSPITAL_CA = f"{RELEASE}-fabric-ca-{HOSPITAL['server']}.{NAMESPACE}.svc:7054"
# Fabric CA's extension carrying an enrolment certificate's attributes (JSON: {"attrs": {...}}).
ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")


def registry_as(user: Identity, tls_root: bytes) -> ServiceClient:
    return ServiceClient(f"{REGISTRY}:8443", registration.AUDIENCE, user, tls_root)


@pytest.mark.usefixtures("release", "cluster_names")
def test_a_patient_asked_for_by_its_manager_and_approved_by_the_sa_enrols_its_pseudonym(
    kubectl: Kubectl, pki: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    manager = new_user(kubectl, tls_root, HOSPITAL, {"medledger.role": "manager"})
    sa = new_user(kubectl, tls_root, GOVERNMENT, {"medledger.role": "sa"})
    key = ec.generate_private_key(ec.SECP256R1())
    rid = f"5101021990{secrets.randbelow(10**8):08d}"
    asked = registration.ask(registry_as(manager.identity, tls_root), rid, Role.PATIENT, HOSPITAL["msp_id"], key)
    waiting = registration.pending(registry_as(sa.identity, tls_root))
    assert asked.request_id in {summary.request_id for summary in waiting}
    assert rid not in repr(waiting)
    registration.approve(registry_as(sa.identity, tls_root), asked.request_id)
    collected = registration.collect(registry_as(manager.identity, tls_root), asked.request_id)
    assert collected.pid and collected.enrolment_secret
    enrolled = enrolment.enrol(HOSPITAL_CA, f"ca-{HOSPITAL['name'].lower()}", collected.pid,
                               collected.enrolment_secret, tls_root, key=key)  # fmt: skip
    certificate = x509.load_pem_x509_certificate(enrolled.certificate_pem)
    assert certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == collected.pid
    attributes = certificate.extensions.get_extension_for_oid(ATTRIBUTES_OID).value
    assert isinstance(attributes, x509.UnrecognizedExtension)
    assert b'"medledger.role":"patient"' in attributes.value
    # Its TLS client certificate for the peers' Gateways, from the hospital's TLS CA with the same secret.
    enrolment.enrol(HOSPITAL_CA, f"tlsca-{HOSPITAL['server']}", collected.pid, collected.enrolment_secret,
                    tls_root, tls_profile=True)  # fmt: skip
    # The secret is given out once.
    assert registration.collect(registry_as(manager.identity, tls_root), asked.request_id).enrolment_secret is None


@pytest.mark.usefixtures("release", "cluster_names")
def test_another_organisations_manager_cannot_ask_for_the_hospitals_people_nor_a_manager_approve(
    kubectl: Kubectl, pki: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    outsider = new_user(kubectl, tls_root, THIRD_PARTY, {"medledger.role": "manager"})
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ServiceError) as refused:
        registration.ask(registry_as(outsider.identity, tls_root), "510102199001019999", Role.PATIENT,
                         HOSPITAL["msp_id"], key)  # fmt: skip
    assert refused.value.status == 403
    manager = new_user(kubectl, tls_root, HOSPITAL, {"medledger.role": "manager"})
    asked = registration.ask(registry_as(manager.identity, tls_root), f"5101021991{secrets.randbelow(10**8):08d}",
                             Role.DOCTOR, HOSPITAL["msp_id"], key)  # fmt: skip
    with pytest.raises(ServiceError) as refused:
        registration.approve(registry_as(manager.identity, tls_root), asked.request_id)
    assert refused.value.status == 403
    assert registration.collect(registry_as(manager.identity, tls_root), asked.request_id).pid is None


@pytest.mark.usefixtures("release", "cluster_names")
def test_the_registrys_registrar_registers_nothing_but_clients_at_the_hospitals_ca(kubectl: Kubectl, pki: Path) -> None:
    """An insider holding the registry's registrar (from its Secret) cannot make a peer or an admin of the
    hospital, nor give a person another attribute than the role: its hf.Registrar.* attributes say so."""
    tls_root = (pki / "tls-root.pem").read_bytes()
    stored = secret(kubectl, f"{RELEASE}-registry-{SITE}-{HOSPITAL['name'].lower()}-msp")
    key = serialization.load_pem_private_key(stored["key.pem"], password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    registrar = Identity(HOSPITAL["msp_id"], stored["cert.pem"], key)
    ca_name = f"ca-{HOSPITAL['name'].lower()}"
    attempts: list[tuple[str, dict[str, str]]] = [
        ("admin", {}), ("peer", {}),
        ("client", {"hf.Registrar.Roles": "client"}), ("client", {"medledger.proxy": "true"}),
    ]  # fmt: skip
    for identity_type, attributes in attempts:
        with pytest.raises(enrolment.EnrolmentError):
            enrolment.register(HOSPITAL_CA, ca_name, registrar, tls_root, enrolment_id=f"pid-{secrets.token_hex(8)}",
                               secret=secrets.token_urlsafe(12), affiliation=HOSPITAL["name"].lower(),
                               attributes=attributes, identity_type=identity_type)  # fmt: skip
    # What it is for, it may do.
    enrolment.register(HOSPITAL_CA, ca_name, registrar, tls_root, enrolment_id=f"pid-{secrets.token_hex(8)}",
                       secret=secrets.token_urlsafe(12), affiliation=HOSPITAL["name"].lower(),
                       attributes={"medledger.role": "patient"})  # fmt: skip


@pytest.mark.usefixtures("release")
def test_helm_test_finds_the_registry_answering_and_refusing_an_unsigned_request(layout: Layout) -> None:
    output = helm_test(layout, "registry-answers")
    assert f"https://{REGISTRY}:8443/registrations: refuses an unsigned request: OK" in output
