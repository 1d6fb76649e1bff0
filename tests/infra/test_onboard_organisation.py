"""Day 2 on the running lab: government IT onboards a fourth hospital with its own organisation (OrgHospital2,
inventories/new-hospital: a container at 172.20.29.38 with its CA server and its peer) while a patient of the
first hospital keeps committing records. Too few admin signatures stop the playbook before any host changes,
naming who must still sign; with the members' admins signing on their own hosts, the organisation joins both
channels, its peer endorses, a patient enrolled at its CA writes a record and the first hospital's patient still
can. No orderer, peer or CA of the seven hosts restarts; a second run changes nothing. Run last in its stage: the
lab keeps the new member."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from medledger_tools import lab_clients, topology
from medledger_tools.lab_clients import Ledger
from medledger_tools.paths import REPO_ROOT

from .conftest import deployed, inventory_paths, lab_host
from .day2 import (
    PATIENT_CHANNEL,
    Writer,
    changed_hosts,
    grown_lab,
    invocations,
    on_grown_host,
    other_hosts,
    patient_records,
    playbook,
)
from .fabric_nodes import wait_until_every_peer_has

pytestmark = pytest.mark.lab

ONBOARD = "playbooks/onboard-organisation.yml"
NEW_HOST = "vm38"
NEW_ORGANISATION = {"name": "OrgHospital2", "msp_id": "OrgHospital2MSP", "kind": "hospital", "ca": "ca2"}


def with_new_organisation(overlay: Path) -> None:
    """The inventory's organisations and channels with the new hospital in both channels, as government IT
    edits group_vars/all.yml; the overlay's own files add its host."""
    organisations = [dict(entry) for entry in deployed().global_var("medledger_organisations")]
    channels = [dict(entry) for entry in deployed().global_var("medledger_channels")]
    for channel in channels:
        channel["organisations"] = [*channel["organisations"], NEW_ORGANISATION["name"]]
    (overlay / "group_vars").mkdir()
    grown = {"medledger_organisations": [*organisations, NEW_ORGANISATION], "medledger_channels": channels}
    (overlay / "group_vars" / "all.yml").write_text("---\n" + yaml.safe_dump(grown, sort_keys=False))


@pytest.fixture
def onboarded_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> topology.Topology:
    overlay = tmp_path / "new-hospital"
    shutil.copytree(REPO_ROOT / "inventories" / "new-hospital", overlay)
    with_new_organisation(overlay)
    return grown_lab([*inventory_paths(), str(overlay)], monkeypatch)


def without_chaincode(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Orderers, peers, CAs, brokers and services: the chaincode servers restart by design, one host at a time."""
    return {
        host: {unit: invocation for unit, invocation in units.items() if not unit.startswith("medledger-chaincode@")}
        for host, units in found.items()
    }


def test_a_new_hospital_organisation_joins_both_channels_while_records_commit(
    onboarded_inventory: topology.Topology, tmp_path: Path
) -> None:
    grown = Ledger(onboarded_inventory)
    patient = grown.new_client("OrgPatient", tmp_path / "old", "pat")
    first_peer = grown.channel_peers(PATIENT_CHANNEL)[0]
    before = without_chaincode(invocations(other_hosts(NEW_HOST)))
    name = NEW_ORGANISATION["name"]

    # The government's admin alone is not a majority of the Patient Channel's members: refused before any host.
    refused = lab_clients.ansible(ONBOARD, "-e", f"organisation={name}", "-e", "signing_organisations=OrgGovernment")
    assert refused.returncode != 0
    assert "still to sign: the admins of OrgPatientMSP (signed by OrgGovernmentMSP)" in refused.stdout
    assert changed_hosts(refused) == {}
    assert on_grown_host(NEW_HOST, "test -e /opt/medledger && echo deployed || echo untouched") == "untouched"

    with Writer(patient, first_peer, "t-onboard") as writer:
        playbook(ONBOARD, "-e", f"organisation={name}")
    assert writer.failures == [] and len(writer.committed) > 0

    # A patient of the new hospital, enrolled at its own CA, writes through its peer: its peer endorses, and so
    # does another organisation's, whose chaincode now counts its MSP as a hospital's.
    newcomer = grown.new_client(name, tmp_path / "new", "pat")
    with patient_records(newcomer, NEW_HOST) as records:
        committed = records.submit("SavePatientData", newcomer.signed_record("t-new-hospital", b"n").to_json())
    earlier_peers = [peer for peer in grown.channel_peers(PATIENT_CHANNEL) if peer != NEW_HOST]
    wait_until_every_peer_has(PATIENT_CHANNEL, committed.block, earlier_peers)
    with patient_records(newcomer, first_peer) as records:
        assert records.evaluate("QueryByPidAndTid", newcomer.name, "t-new-hospital")
    # The first hospital's patient still writes, and the new peer has what was written before it joined.
    with patient_records(patient, first_peer) as records:
        records.submit("SavePatientData", patient.signed_record("t-after-onboarding", b"o").to_json())
    with patient_records(patient, NEW_HOST) as records:
        assert records.evaluate("QueryByPidAndTid", patient.name, writer.committed[0])
    for channel in onboarded_inventory.peer_channels(NEW_HOST):
        members = lab_host(first_peer).check_output(
            f"medledger-peer-admin check-signers {channel} {NEW_ORGANISATION['msp_id']} OrgPatientMSP"
        )
        assert members == "member already", channel

    # A second run changes nothing; no orderer, peer, CA, broker or service of the seven hosts restarted.
    assert changed_hosts(playbook(ONBOARD, "-e", f"organisation={name}")) == {}
    assert without_chaincode(invocations(other_hosts(NEW_HOST))) == before
