"""Day 2 on a Raft lab: every enrolment and TLS certificate of the peers' and orderers' hosts renewed with new
keys (playbooks/renew-certificates.yml), one host at a time, while a patient keeps committing records through
the first hospital's peers, failing over from a peer that restarts to the next. Each orderer's new TLS
certificate enters every channel's consenter set before it restarts with it, so the others keep ordering:
afterwards every orderer is an active consenter of every channel again. A run that finds nothing due changes
nothing. Runs on the network migrated to Raft (`make infra-migrate`), before only the onboarding: every
certificate of the lab is new afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from medledger_tools.lab_clients import Ledger

from .conftest import deployed
from .day2 import (
    ENROLMENT_CERTIFICATES,
    PATIENT_CHANNEL,
    TLS_CERTIFICATES,
    Writer,
    assert_records_read_and_commit,
    certificate_fingerprints,
    changed_hosts,
    playbook,
)
from .ordering import assert_every_orderer_serves_at_one_height, kafka_ordering

pytestmark = pytest.mark.lab

RENEW = "playbooks/renew-certificates.yml"
# Every certificate of the lab expires within a century: all of them are due.
EVERY_CERTIFICATE = 36500
# A client failing over between the hospital's peers waits this long for the network while a node restarts;
# beyond it a failed record counts (the government's only peer restarting stops the Patient Channel's
# endorsements, which need both organisations, for as long as its restart takes).
PATIENCE = 60


def test_every_certificate_is_renewed_one_host_at_a_time_while_records_commit(tmp_path: Path) -> None:
    if kafka_ordering():
        pytest.skip("the consenter sets to update are Raft's; make infra-migrate renews on the migrated network")
    ledger = Ledger(deployed())
    patient = ledger.new_client("OrgPatient", tmp_path, "pat")
    hospital_peers = [
        peer for peer in ledger.channel_peers(PATIENT_CHANNEL) if deployed().peer_organisation(peer) == "OrgPatient"
    ]
    before = certificate_fingerprints(TLS_CERTIFICATES, ENROLMENT_CERTIFICATES)

    with Writer(patient, hospital_peers, "t-renew", patience=PATIENCE) as writer:
        playbook(RENEW, "-e", f"renew_within_days={EVERY_CERTIFICATE}")
    assert writer.failures == [] and len(writer.committed) > 0

    # Every certificate has a new serial and a new key; none went missing.
    after = certificate_fingerprints(TLS_CERTIFICATES, ENROLMENT_CERTIFICATES)
    assert set(after) == set(before)
    kept = sorted(
        f"{host}:{cert}" for (host, cert), old in before.items() if set(old.split()) & set(after[(host, cert)].split())
    )
    assert kept == []

    # Every orderer knows itself by its new certificate among each channel's consenters, and serves the channel
    # at the others' height.
    assert_every_orderer_serves_at_one_height()

    # What was written before is read, and a new record commits through each hospital peer.
    assert_records_read_and_commit(patient, hospital_peers, writer.committed[:1], "t-renewed")

    # Nothing is due within 0 days: a run changes nothing.
    assert changed_hosts(playbook(RENEW, "-e", "renew_within_days=0")) == {}
