"""What operators do with the PKI: expiry report, TLS rotation of one identity, revocation with a CRL."""

from __future__ import annotations

import secrets
import subprocess
import time

import pytest

from .conftest import ansible_run, deployed, lab_host, run_module

pytestmark = pytest.mark.lab


def tls_fingerprints() -> dict[tuple[str, str], str]:
    """(host, certificate) -> serial and public-key digest, for every TLS certificate on every host."""
    found = {}
    for name in deployed().hosts:
        listing = (
            lab_host(name)
            .run(
                'for cert in /etc/medledger/fabric/*/tls/server.crt; do [ -e "$cert" ] || continue; '
                'echo "$cert $(openssl x509 -noout -serial -in $cert) '
                '$(openssl x509 -noout -pubkey -in $cert | sha256sum | cut -c1-16)"; done'
            )
            .stdout
        )
        for line in listing.splitlines():
            cert, fingerprint = line.split(" ", 1)
            found[(name, cert)] = fingerprint
    return found


def test_expiry_report_passes_and_warns() -> None:
    fine = ansible_run("playbooks/cert-expiry.yml", "-e", "cert_expiry_warn_days=30")
    assert fine.returncode == 0, fine.stdout[-2000:]
    assert "/etc/medledger/fabric/peermindray/tls/server.crt" in fine.stdout
    soon = ansible_run("playbooks/cert-expiry.yml", "-e", "cert_expiry_warn_days=400")
    assert soon.returncode != 0
    assert "expire within 400 days: " in soon.stdout
    assert "/etc/medledger/fabric/peermindray/tls/server.crt" in soon.stdout


def test_rotation_needs_an_identity() -> None:
    result = ansible_run("playbooks/rotate-tls.yml")
    assert result.returncode != 0
    assert "name the identity whose TLS certificate to rotate: -e identity=<name>" in result.stdout


def test_rotating_one_tls_certificate_touches_no_other() -> None:
    before = tls_fingerprints()
    result = ansible_run("playbooks/rotate-tls.yml", "-e", "identity=peermindray")
    assert result.returncode == 0, result.stdout[-3000:]
    after = tls_fingerprints()
    rotated = ("vm34", "/etc/medledger/fabric/peermindray/tls/server.crt")
    assert set(before) == set(after)
    assert before[rotated].split()[0] != after[rotated].split()[0], "new serial"
    assert before[rotated].split()[1] != after[rotated].split()[1], "new key"
    assert {key: value for key, value in after.items() if key != rotated} == {
        key: value for key, value in before.items() if key != rotated
    }
    peer = lab_host("vm34")
    sans = peer.check_output(
        "openssl x509 -noout -ext subjectAltName -in /etc/medledger/fabric/peermindray/tls/server.crt"
    )
    assert "DNS:peermindray" in sans and "IP Address:172.20.29.34" in sans
    assert peer.run("ls -A /etc/medledger/fabric/peermindray/tls").stdout.split() == [
        "ca.crt",
        "server.crt",
        "server.key",
    ]
    # The peer was restarted: it presents the new certificate (once it listens again).
    probe = "sleep 1 | timeout 10 openssl s_client -connect 172.20.29.34:7051 2>/dev/null | openssl x509 -noout -serial"
    served = ""
    for _ in range(30):
        served = peer.run(probe).stdout.strip()
        if served.startswith("serial="):
            break
        time.sleep(1)
    assert served == after[rotated].split()[0], served


def test_revocation_publishes_the_serial_in_the_organisations_msps() -> None:
    name = f"test-revoked-{secrets.token_hex(4)}"
    scratch = f"/root/{name}"  # on the lab host, removed at the end
    folder = f"{scratch}/msp"
    secret = "{{ lookup('medledger_secret', 'test', '" + name + "') }}"
    common = {"ca_name": "ca-orgthirdparty", "tls_root": "/etc/medledger/pki/tls-root.pem"}
    register = {
        **common,
        "name": name,
        "secret": secret,
        "type": "client",
        "affiliation": "orgthirdparty",
        "ca_address": "127.0.0.1:7054",
        "registrar_home": "/var/lib/medledger/fabric/ca/registrars/ca-orgthirdparty",
    }
    enroll = {
        **common,
        "name": name,
        "secret": secret,
        "ca_address": "172.20.29.33:7054",
        "path": folder,
        "organisation": "OrgThirdParty",
    }
    assert run_module("vm33", "medledger_fabric_register", register).returncode == 0
    assert run_module("vm34", "medledger_fabric_enroll", enroll).returncode == 0
    peer = lab_host("vm34")
    serial = peer.check_output(f"openssl x509 -noout -serial -in {folder}/signcerts/cert.pem").split("=")[1]

    result = ansible_run("playbooks/revoke.yml", "-e", f"identity={name}", "-e", "organisation=OrgThirdParty")
    assert result.returncode == 0, result.stdout[-3000:]
    for host in ("vm34", "vm35", "vm36"):
        crl = lab_host(host).check_output(
            "openssl crl -noout -text -in /etc/medledger/fabric/admin-orgthirdparty/msp/crls/crl.pem"
        )
        assert f"Serial Number: {serial}" in crl
    patient_side = lab_host("vm30").run("ls /etc/medledger/fabric/peerxinqiao/msp/crls/crl.pem")
    assert patient_side.rc != 0, "another organisation's MSP must not get this CRL"

    again = run_module("vm34", "medledger_fabric_enroll", {**enroll, "path": f"{scratch}/again"})
    assert again.returncode != 0
    assert f"{name}: enrolment at 172.20.29.33:7054 (ca-orgthirdparty) failed: " in again.stdout
    assert "Authentication failure" in again.stdout
    assert peer.run(f"ls -A {scratch}").stdout.split() == ["msp"], "no half-written folder"
    peer.run(f"rm -rf {scratch}")


def test_bad_enrolment_input_is_refused_with_nothing_written() -> None:
    common = {
        "ca_name": "ca-orgthirdparty",
        "tls_root": "/etc/medledger/pki/tls-root.pem",
        "organisation": "OrgThirdParty",
        "path": "/root/never-written/msp",
    }

    def enrol_peermindray(secret: str, ca_address: str) -> subprocess.CompletedProcess[str]:
        arguments = {**common, "name": "peermindray", "secret": secret, "ca_address": ca_address}
        return run_module("vm34", "medledger_fabric_enroll", arguments)

    wrong_secret = enrol_peermindray("not-the-secret", "172.20.29.33:7054")
    assert wrong_secret.returncode != 0
    assert "peermindray: enrolment at 172.20.29.33:7054 (ca-orgthirdparty) failed: " in wrong_secret.stdout
    assert "Authentication failure" in wrong_secret.stdout
    assert "not-the-secret" not in wrong_secret.stdout
    unreachable = enrol_peermindray("unused-secret-2", "127.0.0.1:7999")
    assert unreachable.returncode != 0
    assert "connection refused" in unreachable.stdout
    assert lab_host("vm34").run("ls /root/never-written").rc != 0
    duplicate = run_module(
        "vm33",
        "medledger_fabric_register",
        {
            "name": "peermindray",
            "secret": "unused-secret-1",
            "type": "client",
            "affiliation": "orgthirdparty",
            "ca_name": "ca-orgthirdparty",
            "tls_root": "/etc/medledger/pki/tls-root.pem",
            "ca_address": "127.0.0.1:7054",
            "registrar_home": "/var/lib/medledger/fabric/ca/registrars/ca-orgthirdparty",
        },
    )
    assert duplicate.returncode != 0
    assert "peermindray is already registered at ca-orgthirdparty with other settings (expected Type: client)" in (
        " ".join(duplicate.stdout.split())
    )
