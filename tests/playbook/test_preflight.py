"""Bad input stops site.yml on the control node, with a one-line error, before any host is touched.

Each case copies the paper inventory, breaks one thing, and runs the real playbook. The proof that no
host was touched is the play recap: only localhost (where the checks run) appears in it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from medledger_tools.paths import REPO_ROOT

from .conftest import run_playbook

Breakage = Callable[[Path], None]


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def host_var(host: str, name: str, value: Any) -> Breakage:
    def breakage(inventory: Path) -> None:
        def change(data: dict[str, Any]) -> None:
            if value is None:
                del data[name]
            else:
                data[name] = value

        edit_yaml(inventory / "host_vars" / f"{host}.yml", change)

    return breakage


def add_to_group(group: str, host: str) -> Breakage:
    def breakage(inventory: Path) -> None:
        edit_yaml(inventory / "hosts.yml", lambda data: data["all"]["children"][group]["hosts"].update({host: None}))

    return breakage


def global_var(name: str, value: Any) -> Breakage:
    def breakage(inventory: Path) -> None:
        edit_yaml(inventory / "group_vars" / "all.yml", lambda data: data.update({name: value}))

    return breakage


def run_site(inventory: Path, artifacts: Path) -> tuple[int, str]:
    result = run_playbook("-i", str(inventory), str(REPO_ROOT / "playbooks" / "site.yml"), ARTIFACTS_DIR=str(artifacts))
    return result.returncode, result.stdout + result.stderr


def recap_hosts(output: str) -> set[str]:
    recap = output.split("PLAY RECAP", 1)[1]
    return set(re.findall(r"^(\S+)\s+:\s+ok=", recap, flags=re.MULTILINE))


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    copy = tmp_path / "inventory"
    shutil.copytree(REPO_ROOT / "inventories" / "paper", copy)
    return copy


BAD_INVENTORIES: dict[str, tuple[Breakage, str]] = {
    "duplicate address": (
        host_var("vm31", "ansible_host", "172.20.29.30"),
        "vm31: address 172.20.29.30 is also vm30's; give each host its own ansible_host",
    ),
    "duplicate peer name": (
        host_var("vm36", "fabric_peer_name", "peercqu"),
        "vm36: fabric_peer_name peercqu is also vm35's",
    ),
    "even zookeeper count": (
        add_to_group("zookeeper", "vm33"),
        "group zookeeper: 4 hosts (vm30, vm31, vm32, vm33); an ensemble needs an odd count",
    ),
    "too few kafka brokers": (
        global_var("medledger_kafka_replication_factor", 5),
        "group kafka: 4 brokers, fewer than medledger_kafka_replication_factor 5",
    ),
    "peer in unknown organisation": (
        host_var("vm35", "fabric_peer_organisation", "OrgCqu"),
        "vm35: fabric_peer_organisation OrgCqu is not in medledger_organisations",
    ),
    "peer in unknown channel": (
        host_var("vm30", "fabric_peer_channels", ["patientchanel"]),
        "vm30: fabric_peer_channels names patientchanel, which is not in medledger_channels",
    ),
    "channel without a member's peer": (
        host_var("vm33", "fabric_peer_channels", ["datausagechannel"]),
        "channel patientchannel: no peer of member organisation OrgGovernment",
    ),
    "two listeners on one port": (
        add_to_group("registry", "vm30"),
        "vm30: port 8443 would be both fabric_orderer_operations_port and medledger_services.registry.port",
    ),
    "missing required variable": (
        host_var("vm32", "zookeeper_id", None),
        "vm32: missing zookeeper_id (required for hosts in group zookeeper)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INVENTORIES))
def test_bad_inventory_stops_before_any_host(case: str, inventory: Path, artifacts: Path) -> None:
    breakage, expected = BAD_INVENTORIES[case]
    breakage(inventory)
    code, output = run_site(inventory, artifacts)
    assert code != 0
    assert expected in output
    assert recap_hosts(output) == {"localhost"}


def test_missing_manifest_stops_before_any_host(inventory: Path, tmp_path: Path) -> None:
    code, output = run_site(inventory, tmp_path / "nowhere")
    assert code != 0
    assert "no artifact manifest at" in output and "run `make artifacts` first" in output
    assert recap_hosts(output) == {"localhost"}


def test_altered_tarball_stops_before_any_host(inventory: Path, artifacts: Path) -> None:
    (artifacts / "kafka.tar.gz").write_bytes(b"tampered")
    code, output = run_site(inventory, artifacts)
    assert code != 0
    assert "kafka.tar.gz does not match the manifest SHA-256; run `make artifacts`" in output
    assert recap_hosts(output) == {"localhost"}


def test_unavailable_artifact_stops_before_any_host(inventory: Path, artifacts: Path) -> None:
    manifest = json.loads((artifacts / "manifest.json").read_text())
    del manifest["artifacts"]["zookeeper"]
    manifest["unavailable"]["zookeeper"] = {"version": "3.8.6", "reason": "maven: 404 Not Found"}
    (artifacts / "manifest.json").write_text(json.dumps(manifest))
    code, output = run_site(inventory, artifacts)
    assert code != 0
    assert "artifact zookeeper is unavailable: maven: 404 Not Found" in output
    assert recap_hosts(output) == {"localhost"}


@pytest.mark.parametrize("playbook", ["site.yml", "upgrade-fabric.yml"])
def test_a_release_the_manifest_lacks_stops_before_any_host(playbook: str, inventory: Path, artifacts: Path) -> None:
    global_var("common_artifact_versions", {"fabric": "2.5.1"})(inventory)
    result = run_playbook("-i", str(inventory), str(REPO_ROOT / "playbooks" / playbook), ARTIFACTS_DIR=str(artifacts))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        f"the inventory's common_artifact_versions asks for fabric 2.5.1, which is not in {artifacts}/manifest.json "
        "(it has 2.5.0, 2.5.9); add a recipe fabric@2.5.1 to versions.yml and run `make artifacts`"
    ) in " ".join(output.split()), output[-2000:]
    assert recap_hosts(output) == {"localhost"}


def test_an_altered_tarball_of_the_release_the_inventory_picks_stops_before_any_host(
    inventory: Path, artifacts: Path
) -> None:
    global_var("common_artifact_versions", {"fabric": "2.5.0"})(inventory)
    (artifacts / "fabric@2.5.0.tar.gz").write_bytes(b"tampered")
    code, output = run_site(inventory, artifacts)
    assert code != 0
    assert "fabric@2.5.0.tar.gz does not match the manifest SHA-256; run `make artifacts`" in output
    assert recap_hosts(output) == {"localhost"}


@pytest.mark.parametrize(
    ("playbook", "extra", "expected"),
    [
        ("join-peer.yml", ("peers_to_join=vm99",), "each in the inventory's peers group"),
        ("join-peer.yml", ("peers_to_join=",), "name the hosts to join"),
        ("remove-peer.yml", ("peers_to_remove=vm30",), "vm30: only a plain peer of the inventory is removed here"),
        ("remove-peer.yml", ("peers_to_remove=vm34",), "vm34: only a plain peer of the inventory is removed here"),
        ("remove-peer.yml", ("peers_to_remove=vm99",), "vm99: only a plain peer of the inventory is removed here"),
        ("backup.yml", ("backup_dir=backups",), "name an absolute folder for the backups"),
        ("restore.yml", ("backup=/srv/b", "cas_to_restore=vm34"), "not CA hosts: vm34"),
        ("restore.yml", ("backup=/srv/b", "peers_to_restore=vm99"), "not peers: vm99"),
        ("restore.yml", ("backup={tmp}", "peers_to_restore=vm32"), "no manifest.json.sealed, so not a complete backup"),
        ("migrate-to-raft.yml", (), "set medledger_consensus: etcdraft in the inventory"),
        ("renew-certificates.yml", (), "say how soon a certificate must expire to be renewed"),
        ("renew-certificates.yml", ("renew_within_days=-3",), "-e renew_within_days=<whole days, e.g. 30>"),
        ("rotate-tls.yml", (), "name the identity whose TLS certificate to rotate: -e identity=<name>"),
        ("revoke.yml", ("identity=svc-storage",), "name the identity and its organisation"),
        (
            "revoke.yml",
            # (str.format's doubled braces: the extra variables as JSON)
            (
                '{{"revocations": [{{"identity": "a", "organisation": "OrgPatient"}}, {{"identity": "b", '
                '"organisation": "OrgNowhere"}}]}}',
            ),
            "name the identity and its organisation",
        ),
        ("revoke.yml", ('{{"revocations": [{{"organisation": "OrgPatient"}}]}}',), "or several as -e"),
        ("onboard-organisation.yml", ("organisation=OrgNowhere",), "name the organisation to onboard"),
        ("onboard-organisation.yml", ("organisation=OrgOrderer",), "name the organisation to onboard"),
        (
            "onboard-organisation.yml",
            ("organisation=OrgPatient", "signing_organisations=OrgGovernment,OrgOrderer"),
            "signing_organisations must be members of OrgPatient's channels (OrgGovernment, OrgThirdParty), "
            "not OrgOrderer",
        ),
    ],
)
def test_a_day_2_playbook_asked_for_the_wrong_thing_stops_before_any_host(
    playbook: str, extra: tuple[str, ...], expected: str, *, inventory: Path, artifacts: Path, tmp_path: Path
) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a passphrase long enough for the backup tool")
    passphrase.chmod(0o600)
    extra_vars = [item for value in extra for item in ("-e", value.format(tmp=tmp_path))]
    result = run_playbook(
        "-i",
        str(inventory),
        str(REPO_ROOT / "playbooks" / playbook),
        *extra_vars,
        "-e",
        f"medledger_backup_passphrase_file={passphrase}",
        ARTIFACTS_DIR=str(artifacts),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert expected in " ".join(output.split()), output[-2000:]
    assert recap_hosts(output) == {"localhost"}
