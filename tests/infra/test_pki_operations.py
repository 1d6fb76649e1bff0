"""What operators do with the PKI: expiry report, TLS rotation of one identity (the old key removed
everywhere), revocation with a CRL; and how the PKI is attacked: secrets read from command lines,
enrolment secrets used more often than the hosts that need them."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from medledger_client import proposal
from medledger_client.gateway import GatewayError
from medledger_tools.lab_clients import Ledger, LedgerClient
from medledger_tools.topology import admin_name

from ..waiting import wait_until
from .conftest import ansible_run, deployed, lab_host, role_var, run_module
from .day2 import TLS_CERTIFICATES, certificate_fingerprints
from .fabric_nodes import wait_until_every_peer_has

CA_TLS_ROOT = "/etc/medledger/pki/tls-root.pem"
LEDGER = Ledger(deployed())

pytestmark = pytest.mark.lab


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
    """Run with Ansible's own linear strategy, not Mitogen (ansible.cfg): the fallback stays a tested way to
    change hosts (certificates issued, files written, a peer restarted by its handler)."""
    before = certificate_fingerprints(TLS_CERTIFICATES)
    result = ansible_run("playbooks/rotate-tls.yml", "-e", "identity=peermindray", strategy="linear")
    assert result.returncode == 0, result.stdout[-3000:]
    after = certificate_fingerprints(TLS_CERTIFICATES)
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


@dataclass
class ThirdPartyClient:
    """A client of the third party enrolled on its peer's host (vm34), in a scratch folder."""

    name: str
    serial: str
    enrolment: dict[str, str]
    scratch: str


def enrolled_third_party_client() -> ThirdPartyClient:
    name = f"test-revoked-{secrets.token_hex(4)}"
    scratch = f"/root/{name}"  # on the lab host, removed at the end
    secret = "{{ lookup('medledger_secret', 'test', '" + name + "') }}"
    common = {"ca_name": "ca-orgthirdparty", "tls_root": "/etc/medledger/pki/tls-root.pem"}
    register = {
        **common,
        "name": name,
        "secret": secret,
        "type": "client",
        "affiliation": "orgthirdparty",
        "ca_address": "127.0.0.1:7054",
        "registrar_home": "/var/lib/medledger/fabric-ca/server/registrars/ca-orgthirdparty",
    }
    enrolment = {
        **common,
        "name": name,
        "secret": secret,
        "ca_address": "172.20.29.33:7054",
        "path": f"{scratch}/msp",
        "organisation": "OrgThirdParty",
    }
    assert run_module("vm33", "medledger_fabric_register", register).returncode == 0
    assert run_module("vm34", "medledger_fabric_enroll", enrolment).returncode == 0
    serial = lab_host("vm34").check_output(f"openssl x509 -noout -serial -in {scratch}/msp/signcerts/cert.pem")
    return ThirdPartyClient(name, serial.split("=")[1], enrolment, scratch)


def assert_the_serial_is_in_its_organisations_msps_only_and_it_cannot_enrol_again(client: ThirdPartyClient) -> None:
    for host in ("vm34", "vm35", "vm36"):
        crl = lab_host(host).check_output(
            "openssl crl -noout -text -in /etc/medledger/fabric/admin-orgthirdparty/msp/crls/crl.pem"
        )
        assert f"Serial Number: {client.serial}" in crl
    # Another organisation's MSP holds its own CA's CRL, if any, never this one.
    patient_side = lab_host("vm30").run(
        "openssl crl -noout -text -in /etc/medledger/fabric/peerxinqiao/msp/crls/crl.pem 2>/dev/null"
    )
    assert f"Serial Number: {client.serial}" not in patient_side.stdout, "another organisation's MSP must not get it"

    peer = lab_host("vm34")
    again = run_module("vm34", "medledger_fabric_enroll", {**client.enrolment, "path": f"{client.scratch}/again"})
    assert again.returncode != 0
    assert f"{client.name}: enrolment at 172.20.29.33:7054 (ca-orgthirdparty) failed: " in again.stdout
    assert "Authentication failure" in again.stdout
    assert peer.run(f"ls -A {client.scratch}").stdout.split() == ["msp"], "no half-written folder"
    peer.run(f"rm -rf {client.scratch}")


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
            "registrar_home": "/var/lib/medledger/fabric-ca/server/registrars/ca-orgthirdparty",
        },
    )
    assert duplicate.returncode != 0
    assert "peermindray is already registered at ca-orgthirdparty with other settings (expected Type: client)" in (
        " ".join(duplicate.stdout.split())
    )


# What `ps -eo args` shows is each process's /proc/<pid>/cmdline: read them all, over and over, in one
# process (no ps needed, and no sample missed between two ps runs), until a stop file appears; then write
# the distinct command lines seen.
SAMPLER = """
import os, sys
out, stop = sys.argv[1], sys.argv[2]
seen = set()
while not os.path.exists(stop):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    seen.add(cmdline.read().replace(b"\\0", b" ").strip())
            except OSError:
                pass
with open(out + ".part", "wb") as samples:
    samples.write(b"\\n".join(sorted(seen)))
os.rename(out + ".part", out)
"""


def command_lines_here(stopping: threading.Event, seen: set[str]) -> None:
    while not stopping.is_set():
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                with contextlib.suppress(OSError):  # the process ended meanwhile
                    seen.add(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))


class CommandLineSampler:
    """Every command line (as `ps -eo args` shows them) while it runs, on a lab host (a transient systemd
    unit) or, with no host, on the control node (a thread); `lines()` are the distinct ones it saw."""

    def __init__(self, host_name: str | None = None) -> None:
        self.host = lab_host(host_name) if host_name else None
        self.tag = secrets.token_hex(4)
        self.folder = f"/root/command-lines-{self.tag}"
        self.seen: set[str] = set()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=command_lines_here, args=(self.stopping, self.seen), daemon=True)

    def __enter__(self) -> CommandLineSampler:
        if self.host is None:
            self.thread.start()
            return self
        host, script = self.host, base64.b64encode(SAMPLER.encode()).decode()
        host.check_output(
            f"install -d -m 0700 {self.folder} && echo {script} | base64 -d > {self.folder}/sampler.py && "
            f"systemd-run --quiet --collect --unit medledger-command-lines-{self.tag} -p RuntimeMaxSec=900 "
            f"/usr/bin/python3 {self.folder}/sampler.py {self.folder}/samples {self.folder}/stop"
        )
        unit = f"medledger-command-lines-{self.tag}"
        started = wait_until(lambda: host.run(f"systemctl is-active {unit}"), lambda result: result.rc == 0, 30)
        assert started.rc == 0, "the sampler runs"
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.host is None:
            self.stopping.set()
            self.thread.join()
            return
        host = self.host
        host.check_output(f"touch {self.folder}/stop")
        written = wait_until(lambda: host.run(f"test -f {self.folder}/samples"), lambda r: r.rc == 0, 60)
        assert written.rc == 0, "the sampler wrote what it saw"
        # The secret is looked for here, on the control node, not with a grep on the host (whose own
        # command line would carry it).
        self.seen = set(host.check_output(f"cat {self.folder}/samples").splitlines())
        host.run(f"systemctl stop medledger-command-lines-{self.tag}; rm -rf {self.folder}")

    def lines(self) -> set[str]:
        return self.seen


def test_no_secret_is_on_a_command_line_while_identities_are_registered_and_enrolled() -> None:
    """While the registrar registers an identity and it is enrolled (the modules on the CA host, run from
    here as the lab clients run them), nobody on either machine sees its secret in `ps`."""
    ca_host, ca_address = "vm33", "127.0.0.1:7054"
    seen_client_commands: set[str] = set()
    for _attempt in range(3):  # until the samples caught both commands while they ran
        name, secret = f"test-ps-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
        scratch = f"/root/{name}"
        common = {"name": name, "secret": secret, "ca_name": "ca-orgthirdparty", "tls_root": CA_TLS_ROOT}
        register = {
            **common,
            "type": "client",
            "affiliation": "orgthirdparty",
            "ca_address": ca_address,
            "registrar_home": "/var/lib/medledger/fabric-ca/server/registrars/ca-orgthirdparty",
        }
        enroll = {**common, "ca_address": ca_address, "path": f"{scratch}/msp", "organisation": "OrgThirdParty"}
        with CommandLineSampler(ca_host) as on_ca_host, CommandLineSampler() as here:
            registered = run_module(ca_host, "medledger_fabric_register", register)
            enrolled = run_module(ca_host, "medledger_fabric_enroll", enroll)
        lab_host(ca_host).run(f"rm -rf {scratch}")
        assert registered.returncode == 0, registered.stdout[-2000:]
        assert enrolled.returncode == 0, enrolled.stdout[-2000:]
        leaked = [line for line in on_ca_host.lines() | here.lines() if secret in line]
        assert leaked == [], f"the secret is on a command line: {leaked}"
        assert any("medledger_fabric_register" in line for line in here.lines()), "the sampler saw ansible run"
        seen_client_commands |= {
            word
            for word in ("register", "enroll")
            if any(f"fabric-ca-client {word} " in line for line in on_ca_host.lines())
        }
        if seen_client_commands == {"register", "enroll"}:
            break
    assert seen_client_commands == {"register", "enroll"}, "the sampler never caught fabric-ca-client running"


def journal_since(host: Any, since: str, unit: str) -> str:
    return str(host.check_output(f"journalctl -u {unit} --since @{since} --no-pager -o cat"))


def test_an_enrolment_beyond_an_identitys_bound_is_refused() -> None:
    """An enrolment secret serves as many enrolments as hosts enrol the identity, then never again."""
    ca, peer = lab_host("vm33"), lab_host("vm34")
    since = ca.check_output("date +%s").strip()
    name = f"test-bound-{secrets.token_hex(4)}"
    scratch = f"/root/{name}"
    secret = "{{ lookup('medledger_secret', 'test', '" + name + "') }}"
    common = {"ca_name": "ca-orgthirdparty", "tls_root": CA_TLS_ROOT, "name": name}
    register = {
        **common,
        "secret": secret,
        "type": "client",
        "affiliation": "orgthirdparty",
        "max_enrollments": 2,
        "ca_address": "127.0.0.1:7054",
        "registrar_home": "/var/lib/medledger/fabric-ca/server/registrars/ca-orgthirdparty",
    }
    assert run_module("vm33", "medledger_fabric_register", register).returncode == 0

    def enrol(folder: str, **changes: str) -> subprocess.CompletedProcess[str]:
        arguments = {
            **common,
            "secret": secret,
            "ca_address": "172.20.29.33:7054",
            "path": f"{scratch}/{folder}/msp",
            "organisation": "OrgThirdParty",
            **changes,
        }
        return run_module("vm34", "medledger_fabric_enroll", arguments)

    try:
        assert enrol("first").returncode == 0
        assert enrol("second").returncode == 0
        third = enrol("third")
        assert third.returncode != 0
        assert f"{name}: enrolment at 172.20.29.33:7054 (ca-orgthirdparty) failed: " in third.stdout
        assert "Authentication failure" in third.stdout
        # The deployed peer's own secret is spent as well: it was enrolled once, on its one host.
        derived = "{{ lookup('medledger_secret', 'enrol', 'ca-orgthirdparty', 'peermindray') }}"  # on the control node
        spent = enrol("peermindray", name="peermindray", secret=derived)
        assert spent.returncode != 0
        assert "Authentication failure" in spent.stdout
        assert peer.run(f"ls -A {scratch}").stdout.split() == ["first", "second"], "no half-written folder"
    finally:
        peer.run(f"rm -rf {scratch}")
    log = journal_since(ca, since, "fabric-ca-server")
    assert f"The identity {name} has already enrolled 2 times, it has reached its maximum enrollment allowance" in log
    assert "The identity peermindray has already enrolled 1 times, it has reached its maximum enrollment" in log


def test_rotation_leaves_the_old_tls_key_nowhere_and_the_chaincode_still_answers() -> None:
    """The peer's builder embeds its TLS key in the chaincode connection the peer caches; after rotation
    neither the TLS folder nor that cache (nor anything else under /etc/medledger or /var/lib/medledger)
    holds the old key, and the chaincode answers through the peer, connected with the new key."""
    host_name = "vm34"
    values = deployed().hostvars[host_name]
    peer = lab_host(host_name)
    tls = f"/etc/medledger/fabric/{values['fabric_peer_name']}/tls"
    file_system = role_var("fabric_peer", "fabric_peer_data_dir", host_name)
    builds = f"{file_system}/externalbuilder/builds"
    channel = values["fabric_peer_channels"][0]
    chaincode = next(cc["name"] for cc in deployed().global_var("medledger_chaincodes") if cc["channel"] == channel)
    reader = admin_name(values["fabric_peer_organisation"])  # reads the usage records naming it: none
    query = json.dumps({"Args": ["ListByPid", reader, "1", ""]})

    def answer() -> Any:
        return peer.run(f"medledger-peer-admin chaincode query -C {channel} -n {chaincode} -c '{query}'")

    def answered(result: Any) -> bool:
        return bool(result.rc == 0 and '"records"' in result.stdout)

    def holders(body: str) -> list[str]:
        """Files holding any line of a key's base64 body (the PEM's lines, as files and JSON strings hold them)."""
        found = peer.run(f"grep -rlF -f {body} /etc/medledger /var/lib/medledger {file_system}")
        assert found.rc in (0, 1), found.stderr
        return sorted(set(found.stdout.split()))

    scratch = f"/root/rotation-{secrets.token_hex(4)}"
    peer.check_output(
        f"install -d -m 0700 {scratch} && cp {tls}/server.key {scratch}/old.key && "
        f"grep -v -- ----- {scratch}/old.key > {scratch}/old.body"
    )
    try:
        assert answered(wait_until(answer, answered, seconds=120)), "the chaincode answers before rotation"
        before = holders(f"{scratch}/old.body")
        assert f"{tls}/server.key" in before
        assert any(path.startswith(f"{builds}/") and path.endswith("/connection.json") for path in before), (
            f"the search finds the key the builder embedded in the peer's cached connection: {before}"
        )

        result = ansible_run("playbooks/rotate-tls.yml", "-e", f"identity={values['fabric_peer_name']}")
        assert result.returncode == 0, result.stdout[-3000:]

        assert peer.run(f"cmp -s {scratch}/old.key {tls}/server.key").rc == 1, "a new key"
        last = wait_until(answer, answered, seconds=180)
        assert answered(last), f"the chaincode does not answer through the peer after rotation: {last.stderr}"
        assert holders(f"{scratch}/old.body") == [], "the old TLS key is still on the host"
        peer.check_output(f"grep -v -- ----- {tls}/server.key > {scratch}/new.body")
        assert any(path.startswith(f"{builds}/") for path in holders(f"{scratch}/new.body")), (
            "the peer released its chaincode connection again, with the new key"
        )
    finally:
        peer.run(f"rm -rf {scratch}")


def refused_everywhere(client: LedgerClient, peers: list[str], channel: str, treatment: str) -> bool:
    """Whether every one of `peers` refuses the client's query (once each has the channel's new CRL)."""
    for peer in peers:
        with client.gateway(peer) as gateway:
            try:
                gateway.contract(channel, LEDGER.chaincode_on(channel)).evaluate(
                    "QueryByPidAndTid", client.name, treatment
                )
            except GatewayError:
                continue
        return False
    return True


@dataclass
class LateTransaction:
    """A patient client's transaction, endorsed by the Patient Channel's peers and not yet sent for ordering."""

    client: LedgerClient
    peers: list[str]
    proposal: Any
    endorsed: Any


def patient_client_with_a_late_transaction(tmp_path: Path) -> LateTransaction:
    channel = "patientchannel"
    patient = LEDGER.new_client("OrgPatient", tmp_path, "pat")
    peers = LEDGER.channel_peers(channel)
    chaincode = LEDGER.chaincode_on(channel)
    with patient.gateway(peers[0]) as gateway:
        records = gateway.contract(channel, chaincode)
        first = records.submit("SavePatientData", patient.signed_record("t-1", b"x").to_json())
        # The government's peer endorses too: at a lower height its read of the patient's keys would differ.
        wait_until_every_peer_has(channel, first.block, peers)
        late = proposal.build(
            patient.identity,
            channel,
            chaincode,
            "SavePatientData",
            [patient.signed_record("t-2", b"y").to_json().encode()],
        )
        return LateTransaction(patient, peers, late, gateway.endorse(late))


def assert_every_peer_refuses_it_and_its_late_transaction_does_not_commit(late: LateTransaction) -> None:
    refused = partial(refused_everywhere, late.client, late.peers, "patientchannel", "t-1")
    assert wait_until(refused, bool, seconds=60)
    with late.client.gateway(late.peers[0]) as gateway:
        try:
            gateway.submit(late.proposal, late.endorsed)
            outcome = gateway.commit_status(late.proposal, timeout=60)[0]
        except GatewayError as error:
            outcome = f"refused: {error}"
    assert outcome != "VALID"


FETCH_AS_CLIENT = (
    "cd {home} && env FABRIC_CFG_PATH=/opt/medledger/fabric/config CORE_PEER_LOCALMSPID={msp_id} "
    "CORE_PEER_MSPCONFIGPATH={home}/msp /opt/medledger/fabric/bin/peer channel fetch newest {home}/newest.block "
    "-c {channel} -o {orderer} --tls --cafile {tls_ca} --clientauth --certfile {home}/tls/server.crt "
    "--keyfile {home}/tls/server.key"
)


def fetch_as(client: LedgerClient, host: str, channel: str) -> Any:
    """The orderer's answer to the client asking for the channel's newest block (peer CLI on the orderer host,
    with the client's keys copied there for the call; the client belongs to the orderer host's organisation)."""
    machine = lab_host(host)
    home = str(machine.check_output("mktemp -d")).strip()
    # The client's keys and certificates; its organisation's CA chain as the host's admin MSP holds it.
    for folder in ("msp/signcerts", "msp/keystore", "tls"):
        machine.check_output(f"mkdir -p {home}/{folder}")
        for path in sorted((client.folder / folder).iterdir()):
            destination = f"{home}/{folder}/{path.name}"
            machine.check_output(f"install -m 0600 /dev/stdin {destination} <<'EOF'\n{path.read_text()}EOF")
    organisation_msp = f"/etc/medledger/fabric/admin-{client.identity.msp_id.removesuffix('MSP').lower()}/msp"
    for part in ("cacerts", "intermediatecerts", "config.yaml"):
        machine.check_output(f"cp -r {organisation_msp}/{part} {home}/msp/")
    orderer = f"{deployed().hostvars[host]['ansible_host']}:{role_var('fabric_orderer', 'fabric_orderer_port', host)}"
    tls_ca = f"/etc/medledger/fabric/{deployed().hostvars[host]['fabric_orderer_name']}/tls/ca.crt"
    msp_id = client.identity.msp_id
    command = FETCH_AS_CLIENT.format(home=home, msp_id=msp_id, channel=channel, orderer=orderer, tls_ca=tls_ca)
    answer = machine.run(command)
    machine.run(f"rm -rf {home}")
    return answer


def orderer_identity_served_blocks(tmp_path: Path) -> LedgerClient:
    """An orderer identity (as an insider holding an orderer's key would use it), served blocks before."""
    client = LEDGER.new_client("OrgOrderer", tmp_path, "ord", kind="orderer")
    served = fetch_as(client, deployed().members("orderers")[0], "datausagechannel")
    assert served.rc == 0, served.stderr
    return client


def assert_the_orderers_refuse_it_blocks(client: LedgerClient) -> None:
    for channel in ("datausagechannel", "patientchannel"):
        refused = fetch_as(client, deployed().members("orderers")[0], channel)
        assert refused.rc != 0 and "FORBIDDEN" in refused.stderr, (channel, refused.stdout, refused.stderr)


def test_one_revocation_run_refuses_identities_of_three_organisations_everywhere(tmp_path: Path) -> None:
    """playbooks/revoke.yml with three identities at once, each of another organisation, each attacked as an
    insider holding its keys would: a third party's client (the CRL in its organisation's MSPs, no other's; it
    cannot enrol again), a patient's client (the CRL in its organisation's MSP in the channel configuration: a
    peer of another organisation, the government's, refuses it as its own organisation's peers do, and a
    transaction it had endorsed before does not commit when sent after), an orderer identity (the orderer
    organisation's CRL in every channel's Orderer group: the orderers, which served it blocks before, refuse)."""
    third_party = enrolled_third_party_client()
    patient = patient_client_with_a_late_transaction(tmp_path)
    orderer_identity = orderer_identity_served_blocks(tmp_path)
    revocations = [
        {"identity": third_party.name, "organisation": "OrgThirdParty"},
        {"identity": patient.client.name, "organisation": "OrgPatient"},
        {"identity": orderer_identity.name, "organisation": "OrgOrderer"},
    ]

    result = ansible_run("playbooks/revoke.yml", "-e", json.dumps({"revocations": revocations}))
    assert result.returncode == 0, result.stdout[-3000:]

    assert_the_serial_is_in_its_organisations_msps_only_and_it_cannot_enrol_again(third_party)
    assert_every_peer_refuses_it_and_its_late_transaction_does_not_commit(patient)
    assert_the_orderers_refuse_it_blocks(orderer_identity)
