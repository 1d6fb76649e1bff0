"""helm/peer's files/anchors.py, which the cluster's channel Jobs run: whether a channel already names an
organisation's anchor peers, and whether the members ahead of it have set theirs (they go one at a time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from medledger_tools.paths import REPO_ROOT

ANCHORS = REPO_ROOT / "helm" / "peer" / "files" / "anchors.py"
PATIENT = {"host": "paper-peerxinqiao-0.paper-peerxinqiao.medledger.svc.cluster.local", "port": 7051}


def block(tmp_path: Path, anchors: dict[str, list[dict[str, object]]]) -> Path:
    groups = {
        msp_id: {"values": {"AnchorPeers": {"value": {"anchor_peers": peers}}} if peers else {}}
        for msp_id, peers in anchors.items()
    }
    config = {"channel_group": {"groups": {"Application": {"groups": groups}}}}
    path = tmp_path / "block.json"
    path.write_text(json.dumps({"data": {"data": [{"payload": {"data": {"config": config}}}]}}))
    return path


def run(*args: str | Path) -> int:
    return subprocess.run([sys.executable, str(ANCHORS), *map(str, args)], check=False, capture_output=True).returncode


def test_the_members_ahead_are_present_only_when_each_has_anchor_peers(tmp_path: Path) -> None:
    config = block(tmp_path, {"OrgPatientMSP": [PATIENT], "OrgGovernmentMSP": [], "OrgThirdPartyMSP": []})
    assert run("--present", config, "OrgPatientMSP") == 0
    assert run("--present", config, "OrgPatientMSP,OrgGovernmentMSP") == 1


def test_an_organisation_whose_anchor_peers_differ_gets_the_configuration_to_update(tmp_path: Path) -> None:
    config = block(tmp_path, {"OrgPatientMSP": [PATIENT], "OrgGovernmentMSP": []})
    endpoint = "paper-peergovernment-0.paper-peergovernment.medledger.svc.cluster.local:7051"
    assert run(config, "OrgGovernmentMSP", "datausagechannel", endpoint, tmp_path / "update") == 1
    wanted = json.loads((tmp_path / "update.wanted.json").read_text())
    government = wanted["channel_group"]["groups"]["Application"]["groups"]["OrgGovernmentMSP"]
    assert government["values"]["AnchorPeers"]["value"]["anchor_peers"] == [
        {"host": "paper-peergovernment-0.paper-peergovernment.medledger.svc.cluster.local", "port": 7051}
    ]
    patient = f"{PATIENT['host']}:{PATIENT['port']}"
    assert run(config, "OrgPatientMSP", "datausagechannel", patient, tmp_path / "same") == 0
