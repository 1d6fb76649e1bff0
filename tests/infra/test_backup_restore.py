"""Day 2 on the running Kafka lab: back the network up while records commit, lose a peer's ledgers and a CA
server's home, restore both from the backup. The peer joins its channels from its organisation's snapshots,
catches up and answers for records from before and after the backup; the CA serves the same chain and issues
certificates the channels accept. A backup of another network is refused before any host is touched."""

from __future__ import annotations

import io
import operator
from functools import partial
from pathlib import Path

import pytest

from medledger_tools import backup, lab_clients
from medledger_tools.lab_clients import Ledger
from medledger_tools.topology import ca_authorities

from ..waiting import wait_until
from .conftest import controller_var, deployed, https_get, lab_host
from .day2 import (
    PATIENT_CHANNEL,
    Writer,
    changed_hosts,
    invocations,
    other_hosts,
    patient_records,
    playbook,
)
from .fabric_nodes import peer_height

LEDGER = Ledger(deployed())
RESTORED_PEER = "vm32"  # an OrgPatient peer on both channels, not its organisation's first (which is backed up)
RESTORED_CA = "vm31"  # the CA server of OrgPatient, the orderers and a TLS CA

pytestmark = pytest.mark.lab


def passphrase_file() -> Path:
    return Path(controller_var("medledger_backup_passphrase_file"))


def roots() -> list[Path]:
    pki = Path(controller_var("medledger_pki_dir"))
    return [pki / "enrolment-root.pem", pki / "tls-root.pem"]


def ca_chains(host: str) -> dict[str, str]:
    """What the CA server says it is: each of its CAs' certificate chains."""
    address, port = str(deployed().hostvars[host]["ansible_host"]), 7054
    tls_root = Path(controller_var("medledger_pki_dir")) / "tls-root.pem"
    names = ca_authorities(
        deployed().global_var("medledger_organisations"), deployed().hostvars[host]["fabric_ca_name"]
    )
    return {
        ca["name"]: https_get(address, port, f"/api/v1/cainfo?ca={ca['name']}", tls_root, host)["result"]["CAChain"]
        for ca in names
    }


def test_a_backup_restores_a_wiped_peer_and_a_lost_ca_while_records_commit(tmp_path: Path) -> None:
    patient = LEDGER.new_client("OrgPatient", tmp_path, "bak")
    first_peer = LEDGER.channel_peers(PATIENT_CHANNEL)[0]
    channels = deployed().peer_channels(RESTORED_PEER)
    folder = tmp_path / "backups"

    # The backup is taken while a patient commits (nothing fails), and a second run changes nothing.
    backup_lab = ("playbooks/backup.yml", "-e", f"backup_dir={folder}", "-e", "backup_id=lab")
    with Writer(patient, first_peer, "t-backup") as writer:
        playbook(*backup_lab)
    assert writer.failures == [] and writer.committed
    before_backup = writer.committed[0]
    assert changed_hosts(playbook(*backup_lab)) == {}
    manifest = backup.check(backup.read_passphrase(passphrase_file()), folder / "lab", roots())
    assert {"control", "ca-ca0", "ca-ca1", "ledger-orgpatient-patientchannel"} <= set(manifest["items"])
    # Sealed: no key, certificate or ledger text in the folder, which only its owner reads.
    for item in (folder / "lab").iterdir():
        assert item.stat().st_mode & 0o077 == 0, item
        assert b"PRIVATE KEY" not in item.read_bytes() and b"CERTIFICATE" not in item.read_bytes(), item

    # After the backup: a record the snapshot does not hold.
    with patient_records(patient, first_peer) as records:
        records.submit("SavePatientData", patient.signed_record("t-after-backup", b"y").to_json())

    # Lost: the peer's ledgers and the CA server's home.
    chains = ca_chains(RESTORED_CA)
    lab_host(RESTORED_PEER).run("systemctl stop fabric-peer && rm -rf /var/lib/medledger/fabric-peer/data/ledgersData")
    lab_host(RESTORED_CA).run("systemctl stop fabric-ca-server && rm -rf /var/lib/medledger/fabric-ca/server")
    untouched = other_hosts(RESTORED_PEER, RESTORED_CA)
    restore = (
        "-e",
        f"backup={folder / 'lab'}",
        "-e",
        f"peers_to_restore={RESTORED_PEER}",
        "-e",
        f"cas_to_restore={RESTORED_CA}",
    )
    before = invocations(untouched)

    with Writer(patient, first_peer, "t-restore") as writer:
        playbook("playbooks/restore.yml", *restore)
    assert writer.failures == [] and writer.committed

    # The peer joined from the snapshots (its ledger starts there), caught up, and answers for records from
    # before and after the backup and from during the restore; it endorses a new one.
    for channel in channels:
        info = lab_host(RESTORED_PEER).check_output(f"medledger-peer-admin channel getinfo -c {channel}")
        assert "bootstrappingSnapshotInfo" in info, (channel, info)
        reference = peer_height(first_peer, channel)
        reached = wait_until(partial(peer_height, RESTORED_PEER, channel), partial(operator.le, reference), seconds=60)
        assert reached >= reference, channel
    with patient_records(patient, RESTORED_PEER) as records:
        for treatment in (before_backup, "t-after-backup", writer.committed[-1]):
            assert records.evaluate("QueryByPidAndTid", patient.name, treatment), treatment
        records.submit("SavePatientData", patient.signed_record("t-through-the-restored-peer", b"z").to_json())

    # The CA serves the chain it served, and enrols a new client whose record the channel accepts.
    assert ca_chains(RESTORED_CA) == chains
    newcomer = LEDGER.new_client("OrgPatient", tmp_path, "after-restore")
    with patient_records(newcomer, first_peer) as records:
        records.submit("SavePatientData", newcomer.signed_record("t-new-client", b"n").to_json())

    # No other host's services restarted; a second run restores nothing again.
    assert invocations(untouched) == before
    assert changed_hosts(playbook("playbooks/restore.yml", *restore)) == {}


def test_a_backup_of_another_network_is_refused_before_any_host_is_touched(tmp_path: Path) -> None:
    """Sealed with the lab's passphrase and holding every item the peer needs, but made for other roots."""
    passphrase = backup.read_passphrase(passphrase_file())
    for channel in deployed().peer_channels(RESTORED_PEER):
        with (tmp_path / f"ledger-orgpatient-{channel}{backup.ITEM_SUFFIX}").open("wb") as item:
            backup.seal(passphrase, io.BytesIO(b"another network's ledger"), item)
    forged_roots = [tmp_path / "enrolment-root.pem", tmp_path / "tls-root.pem"]
    for root in forged_roots:
        root.write_text(f"another network's {root.stem}")
    backup.finish(passphrase, tmp_path, forged_roots)
    before = invocations(deployed().hosts)
    refused = lab_clients.ansible(
        "playbooks/restore.yml", "-e", f"backup={tmp_path}", "-e", f"peers_to_restore={RESTORED_PEER}"
    )
    assert refused.returncode != 0
    assert "a backup of another network" in " ".join(refused.stdout.split())
    assert "PLAY [Restore" not in refused.stdout
    assert invocations(deployed().hosts) == before
