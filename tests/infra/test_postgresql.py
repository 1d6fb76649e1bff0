"""PostgreSQL for the services (roles/postgresql): on loopback only, TLS only with the organisation's TLS
certificate, scram-sha-256, and nobody admitted who is not named in pg_hba.conf."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import deployed, role_var

pytestmark = pytest.mark.lab


@pytest.fixture
def database_host(inventory_host: str) -> str:
    if inventory_host not in deployed().members("postgresql"):
        pytest.skip(f"{inventory_host} runs no PostgreSQL")
    return inventory_host


def setting(host: Any, name: str) -> str:
    return str(host.check_output(f"runuser -u postgres -- psql -Atc 'show {name}'")).strip()


def test_the_server_listens_on_loopback_only(host: Any, database_host: str) -> None:
    port = role_var("postgresql", "postgresql_port", database_host)
    bound = {spec for spec in host.socket.get_listening_sockets() if spec.endswith(f":{port}")}
    assert bound == {f"tcp://127.0.0.1:{port}"}


def test_tls_only_with_scram_passwords(host: Any, database_host: str) -> None:
    assert (setting(host, "ssl"), setting(host, "password_encryption"), setting(host, "ssl_min_protocol_version")) == (
        "on",
        "scram-sha-256",
        "TLSv1.3",
    )


def test_the_server_presents_its_organisations_tls_certificate(host: Any, database_host: str) -> None:
    tls_dir = role_var("postgresql", "postgresql_identity_dir", database_host)
    port = role_var("postgresql", "postgresql_port", database_host)
    session = host.check_output(
        f"timeout 20 openssl s_client -starttls postgres -connect 127.0.0.1:{port} -CAfile {tls_dir}/ca.crt "
        "-verify_return_error </dev/null 2>&1; true"
    )
    assert "Verify return code: 0 (ok)" in session
    assert "TLSv1.3" in session
    peer = deployed().hostvars[database_host]["fabric_peer_name"]
    assert f"CN = {peer}-postgresql" in session or f"CN={peer}-postgresql" in session


@pytest.mark.parametrize("sslmode", ["disable", "require"])
def test_a_connection_that_pg_hba_does_not_name_is_refused(host: Any, database_host: str, sslmode: str) -> None:
    """Even the administrator, and even over TLS: only a service's own role reaches its own database."""
    target = f"host=127.0.0.1 port={role_var('postgresql', 'postgresql_port', database_host)} dbname=postgres"
    result = host.run(f"PGCONNECT_TIMEOUT=10 psql '{target} user=postgres sslmode={sslmode}' -c 'select 1'")
    assert result.rc != 0
    assert "pg_hba.conf rejects connection" in result.stderr, result.stderr
