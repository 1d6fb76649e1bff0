"""The storage service on the cluster, with its PostgreSQL server and object store beside the first hospital's peer
(helm/storage, helm/postgresql, helm/seaweedfs), each keyed inside the cluster: a patient stores a sealed record and
reads it back, and the read is audited; a third party's own identity is refused it; the database speaks TLS alone
and admits the storage role with its own password only; the chart's `helm test` hook finds the service answering."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest

from medledger_api.entities import file_digest
from medledger_client import storage
from medledger_client.identity import Identity
from medledger_client.service_client import ServiceClient, ServiceError
from medledger_tools.k8s.layout import Layout
from tests.k8s.clients import THIRD_PARTY, new_patient, new_user, secret
from tests.k8s.umbrella import NAMESPACE, RELEASE, Kubectl, helm_test

pytestmark = pytest.mark.k8s

SITE = "peerxinqiao"  # inventories/paper puts the storage service beside this peer
STORAGE = f"{RELEASE}-storage-{SITE}.{NAMESPACE}.svc"
DATABASE = f"{RELEASE}-postgresql-{SITE}.{NAMESPACE}.svc"


def storage_as(user: Identity, tls_root: bytes) -> ServiceClient:
    return ServiceClient(f"{STORAGE}:8445", storage.AUDIENCE, user, tls_root)


@pytest.mark.usefixtures("release", "cluster_names")
def test_a_patient_stores_a_record_reads_it_back_and_a_third_party_is_refused_it(
    kubectl: Kubectl, pki: Path, tmp_path: Path
) -> None:
    tls_root = (pki / "tls-root.pem").read_bytes()
    patient = new_patient(kubectl, tls_root)
    record = tmp_path / "record.sealed"
    record.write_bytes(secrets.token_bytes(200_000))
    stored = storage.store(storage_as(patient.identity, tls_root), record)
    assert (stored.sha384, stored.size) == (file_digest(record), record.stat().st_size)
    fetched = storage.fetch(storage_as(patient.identity, tls_root), stored.sha384, tmp_path / "fetched")
    assert fetched.read_bytes() == record.read_bytes()
    assert stored.sha384 in {read.sha384 for read in storage.reads(storage_as(patient.identity, tls_root))}
    # An insider of another organisation, with its own CA's identity and the role a reader of shared records has.
    third_party = new_user(kubectl, tls_root, THIRD_PARTY, {"medledger.role": "thirdparty"})
    with pytest.raises(ServiceError) as refused:
        storage.fetch(storage_as(third_party.identity, tls_root), stored.sha384, tmp_path / "stolen")
    assert refused.value.status == 403 and not (tmp_path / "stolen").exists()


@pytest.mark.usefixtures("release", "cluster_names")
def test_the_database_admits_the_storage_role_over_tls_with_its_own_password_only(kubectl: Kubectl, pki: Path) -> None:
    password = secret(kubectl, f"{RELEASE}-postgresql-{SITE}-storage-password")["password"].decode()
    root = str(pki / "tls-root.pem")
    verified: dict[str, Any] = {
        "host": DATABASE, "port": 5432, "sslmode": "verify-full", "sslrootcert": root, "connect_timeout": 10,
    }  # fmt: skip
    with psycopg.connect(dbname="storage", user="storage", password=password, **verified) as connection:
        assert connection.execute("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    refusals = [
        {**verified, "dbname": "storage", "user": "storage", "password": "not-" + password},
        {**verified, "dbname": "postgres", "user": "storage", "password": password},
        {**verified, "dbname": "storage", "user": "medledger", "password": password},
        {**verified, "dbname": "storage", "user": "storage", "password": password, "sslmode": "disable"},
    ]
    for arguments in refusals:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(**arguments).close()


@pytest.mark.usefixtures("release")
def test_helm_test_finds_the_storage_service_answering_and_refusing_an_unsigned_request(layout: Layout) -> None:
    output = helm_test(layout, "storage-answers")
    assert f"https://{STORAGE}:8445/reads: refuses an unsigned request: OK" in output
