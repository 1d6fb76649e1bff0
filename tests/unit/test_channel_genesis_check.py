"""Channels are what the inventory says: medledger-peer-admin's check of a channel's genesis block (and of its
current configuration) against the expected configuration the fabric_peer role writes.

The blocks are real: configtxgen makes them from the orderers' configtx.yaml template and configtxlator decodes
them, from the Fabric artifact. The expected configuration is the role's own template (channel-expected.json.j2),
rendered by Ansible from the paper inventory with its defaults. Only MSP folders are made up (throw-away CAs).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes

from medledger_tools.paths import REPO_ROOT

from .certificates import Issued, issue
from .test_fabric_admin import admin_command, channel_config_module, freeze_clock


def fabric_bin() -> Path | None:
    """The built Fabric artifact's bin folder (configtxgen, configtxlator), if `make artifacts` has run."""
    artifacts = Path(os.environ.get("ARTIFACTS_DIR", REPO_ROOT / "artifacts"))
    try:
        root = json.loads((artifacts / "manifest.json").read_text())["artifacts"]["fabric"]["root"]
    except (OSError, KeyError, ValueError):
        return None
    folder = artifacts / root / "bin"
    return folder if (folder / "configtxgen").is_file() and (folder / "configtxlator").is_file() else None


BIN = fabric_bin()
pytestmark = pytest.mark.skipif(
    BIN is None, reason="no Fabric artifact with configtxgen and configtxlator: run `make artifacts` (or ARTIFACTS_DIR)"
)


def tool(name: str) -> str:
    assert BIN is not None
    return str(BIN / name)


CONSENSUS = ("kafka", "etcdraft")
CHANNELS = ("patientchannel", "datausagechannel")
PEER_ROLE = REPO_ROOT / "roles" / "fabric_peer"
CONFIGTX_TEMPLATE = REPO_ROOT / "roles" / "fabric_orderer" / "templates" / "configtx.yaml.j2"
ORGANISATIONS = ("OrgPatient", "OrgGovernment", "OrgThirdParty", "OrgOrderer")
ORDERERS = ("orderer0", "orderer1", "orderer2")

# Renders, on the control node only, what the fabric_peer role writes for each channel (its template and
# defaults, with the test's MSP folders), and the orderers' configtx.yaml the same variables give.
RENDER_PLAYBOOK = """
- name: Render the channel check's inputs
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Load the fabric_peer role's defaults
      ansible.builtin.include_vars: {defaults}
    - name: Write the expected configuration of each channel
      ansible.builtin.template:
        src: {expected_template}
        dest: "{{{{ out }}}}/{{{{ item.0 }}}}-{{{{ item.1 }}}}.expected.json"
        mode: "0644"
      vars:
        medledger_consensus: "{{{{ item.0 }}}}"
        fabric_peer_channel: "{{{{ item.1 }}}}"
      loop: "{{{{ {consensus} | product({channels}) | list }}}}"
    - name: Write the orderers' configtx.yaml
      ansible.builtin.copy:
        content: >-
          {{{{ lookup('ansible.builtin.template', fabric_peer_configtx_template,
                      template_vars=fabric_peer_configtx_vars | combine({{'fabric_orderer_config_dir': out}})) }}}}
        dest: "{{{{ out }}}}/{{{{ item }}}}-configtx.yaml"
        mode: "0644"
      vars:
        medledger_consensus: "{{{{ item }}}}"
      loop: {consensus}
"""


def write_msp(folder: Path, root: Issued, tls_root: Issued, name: str) -> None:
    """An organisation's verifying MSP folder, laid out as the fabric_msp role writes it."""
    for kind, issuer, prefix in (("", root, "ca"), ("tls", tls_root, "tlsca")):
        (folder / f"{kind}cacerts").mkdir(parents=True, exist_ok=True)
        (folder / f"{kind}intermediatecerts").mkdir(parents=True, exist_ok=True)
        (folder / f"{kind}cacerts" / "root.pem").write_bytes(issuer.certificate_pem)
        intermediate = issue(f"{prefix}-{name.lower()}", issuer, ca=True)
        (folder / f"{kind}intermediatecerts" / "ca.pem").write_bytes(intermediate.certificate_pem)


class Network:
    """MSP folders, the rendered inputs, and blocks configtxgen makes from them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = issue("MedLedger enrolment root", ca=True)
        tls_root = issue("MedLedger TLS root", ca=True)
        for org in ORGANISATIONS:
            write_msp(folder / "orgs" / org / "msp", self.root, tls_root, org)
        # An MSP a third party's admin could put in a channel it creates: its own root, named like ours.
        self.foreign_root = issue("MedLedger enrolment root", ca=True)
        write_msp(folder / "foreign" / "OrgPatient" / "msp", self.foreign_root, tls_root, "OrgPatient")
        # Or ours, trusting another root besides.
        shutil.copytree(folder / "orgs" / "OrgPatient", folder / "extra" / "OrgPatient")
        (folder / "extra" / "OrgPatient" / "msp" / "cacerts" / "other.pem").write_bytes(
            self.foreign_root.certificate_pem
        )
        (folder / "consenters").mkdir()
        for orderer in ORDERERS:
            consenter = issue(orderer, issue(f"tlsca-{orderer}", tls_root, ca=True), address="127.0.0.1")
            (folder / "consenters" / f"{orderer}.crt").write_bytes(consenter.certificate_pem)
        self.render()
        self.blocks = 0

    def render(self) -> None:
        playbook = self.folder / "render.yml"
        playbook.write_text(
            RENDER_PLAYBOOK.format(
                defaults=PEER_ROLE / "defaults" / "main.yml",
                expected_template=PEER_ROLE / "templates" / "channel-expected.json.j2",
                consensus=list(CONSENSUS),
                channels=list(CHANNELS),
            )
        )
        overrides = {
            "out": str(self.folder),
            "fabric_peer_msp_dir": str(self.folder),
            "fabric_peer_configtx_template": str(CONFIGTX_TEMPLATE),
        }
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(REPO_ROOT / "inventories" / "paper"),
                "-e",
                json.dumps(overrides),
                str(playbook),
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            # Ansible's own strategy: Mitogen's (ansible.cfg) carries ansible-core's deprecation warning for
            # every third-party strategy, and this run must show no warning of its own.
            env=dict(
                os.environ,
                ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
                ANSIBLE_NOCOLOR="1",
                ANSIBLE_STRATEGY="linear",
            ),
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert "WARNING" not in result.stdout + result.stderr, result.stdout + result.stderr

    def spec_file(self, consensus: str, channel: str) -> Path:
        return self.folder / f"{consensus}-{channel}.expected.json"

    def block(
        self,
        consensus: str,
        channel: str,
        change: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
        channel_id: str | None = None,
    ) -> Path:
        """The channel's genesis block, from the profile the orderers' template gives (with Kafka, the
        orderer section comes from the system channel: here the template's defaults), changed by `change`."""
        configtx = copy.deepcopy(yaml.safe_load((self.folder / f"{consensus}-configtx.yaml").read_text()))
        profile = configtx["Profiles"][channel]
        profile.setdefault("Orderer", configtx["Orderer"])
        if change:
            change(profile, configtx)
        self.blocks += 1
        work = self.folder / f"block{self.blocks}"
        work.mkdir()
        (work / "configtx.yaml").write_text(yaml.safe_dump(configtx))
        target = work / "genesis.block"
        generate = [tool("configtxgen"), "-configPath", str(work), "-profile", channel, "-outputBlock"]
        made = subprocess.run(
            [*generate, str(target), "-channelID", channel_id or channel], capture_output=True, text=True, check=False
        )
        assert made.returncode == 0, made.stderr[-2000:]
        return target


def decoded(block: Path) -> dict[str, Any]:
    decode = [tool("configtxlator"), "proto_decode", "--type", "common.Block", "--input", str(block)]
    return dict(json.loads(subprocess.run(decode, capture_output=True, text=True, check=True).stdout))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Network:
    return Network(tmp_path_factory.mktemp("network"))


@pytest.fixture(scope="module")
def admin() -> ModuleType:
    return admin_command()


def refusal(
    admin: ModuleType, network: Network, block: Path, consensus: str = "kafka", channel: str = "patientchannel"
) -> str:
    """The one-line refusal of a genesis block checked against the inventory's channel."""
    spec = admin.load_spec(str(network.spec_file(consensus, channel)))
    with pytest.raises(admin.NotTheInventorys) as refused:
        admin.check_config(channel, decoded(block), spec, f"block 0 ({block})", True)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{channel}: block 0 ({block}) does not match the inventory: ")
    return message


def org(configtx: dict[str, Any], msp_id: str) -> dict[str, Any]:
    return next(entry for entry in configtx["Organizations"] if entry["ID"] == msp_id)


def fingerprint(issued: Issued) -> str:
    return f"SHA-256 {issued.certificate.fingerprint(hashes.SHA256()).hex()[:16]}"


def test_the_role_writes_the_inventorys_channel(network: Network) -> None:
    spec = json.loads(network.spec_file("kafka", "patientchannel").read_text())
    assert spec["channel"] == "patientchannel" and spec["consensus"] == "kafka"
    assert [entry["ID"] for entry in spec["application"]["organisations"]] == ["OrgPatientMSP", "OrgGovernmentMSP"]
    assert [entry["ID"] for entry in spec["orderer"]["organisations"]] == ["OrgOrdererMSP"]
    assert sorted(spec["application"]["policies"]) == [
        "Admins",
        "Endorsement",
        "LifecycleEndorsement",
        "Readers",
        "Writers",
    ]
    assert spec["application"]["organisations"][0]["MSPDir"] == f"{network.folder}/orgs/OrgPatient/msp"
    # Which policy each peer resource needs: clients propose and ask for commit status, blocks and events
    # are for the members' admins and peers (test_channel_acls evaluates them).
    acls = spec["application"]["acls"]
    assert acls["event/Block"] == acls["qscc/GetBlockByNumber"] == "/Channel/Application/Readers"
    assert acls["peer/Propose"] == acls["gateway/CommitStatus"] == "/Channel/Application/Writers"
    patient = spec["application"]["organisations"][0]["Policies"]
    assert patient["Readers"]["Rule"] == "OR('OrgPatientMSP.admin', 'OrgPatientMSP.peer')"
    orderer = spec["orderer"]["organisations"][0]["Policies"]
    assert orderer["Readers"]["Rule"] == "OR('OrgOrdererMSP.admin', 'OrgOrdererMSP.orderer')"
    raft = json.loads(network.spec_file("etcdraft", "datausagechannel").read_text())
    assert raft["consensus"] == "etcdraft" and len(raft["application"]["organisations"]) == 3


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("consensus", CONSENSUS)
def test_the_inventorys_block_passes(admin: ModuleType, network: Network, consensus: str, channel: str) -> None:
    block = decoded(network.block(consensus, channel))
    spec = admin.load_spec(str(network.spec_file(consensus, channel)))
    assert channel_config_module().config_differences(channel, block, spec, True) == []
    admin.check_config(channel, block, spec, "block 0", True)


def test_a_third_party_as_member_is_refused_and_named(admin: ModuleType, network: Network) -> None:
    def add_third_party(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        profile["Application"]["Organizations"].append(org(configtx, "OrgThirdPartyMSP"))

    message = refusal(admin, network, network.block("kafka", "patientchannel", add_third_party))
    assert message.endswith(
        ": OrgThirdPartyMSP is a member, the inventory's members are OrgGovernmentMSP, OrgPatientMSP"
    ), message


def test_a_missing_member_is_refused_and_named(admin: ModuleType, network: Network) -> None:
    def drop_government(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        profile["Application"]["Organizations"] = [org(configtx, "OrgPatientMSP")]

    message = refusal(admin, network, network.block("kafka", "patientchannel", drop_government))
    assert "OrgGovernmentMSP is not a member, the inventory's members are OrgGovernmentMSP, OrgPatientMSP" in message


def test_the_wrong_consensus_is_refused(admin: ModuleType, network: Network) -> None:
    message = refusal(admin, network, network.block("etcdraft", "patientchannel"), consensus="kafka")
    assert message.endswith(": consensus is etcdraft, the inventory's is kafka"), message
    message = refusal(admin, network, network.block("kafka", "patientchannel"), consensus="etcdraft")
    assert message.endswith(": consensus is kafka, the inventory's is etcdraft"), message


def test_another_orderer_organisation_is_refused(admin: ModuleType, network: Network) -> None:
    def government_orders(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        profile["Orderer"]["Organizations"] = [org(configtx, "OrgGovernmentMSP")]

    message = refusal(admin, network, network.block("kafka", "patientchannel", government_orders))
    assert "OrgGovernmentMSP is an orderer organisation, the inventory's orderer organisations are OrgOrdererMSP" in (
        message
    )
    assert "OrgOrdererMSP is not an orderer organisation" in message


def test_a_changed_application_policy_is_refused(admin: ModuleType, network: Network) -> None:
    def any_admin(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        profile["Application"]["Policies"]["Admins"] = {"Type": "ImplicitMeta", "Rule": "ANY Admins"}

    message = refusal(admin, network, network.block("kafka", "patientchannel", any_admin))
    assert message.endswith(
        ": Application policy Admins is ImplicitMeta ANY Admins, the inventory's is ImplicitMeta MAJORITY Admins"
    ), message


def test_other_application_policies_are_refused(admin: ModuleType, network: Network) -> None:
    def government_alone_defines_chaincode(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        profile["Application"]["Policies"]["LifecycleEndorsement"] = {
            "Type": "Signature",
            "Rule": "OR('OrgGovernmentMSP.admin')",
        }
        profile["Application"]["Policies"]["Extra"] = {"Type": "ImplicitMeta", "Rule": "ANY Readers"}
        del profile["Application"]["Policies"]["Endorsement"]

    message = refusal(admin, network, network.block("kafka", "patientchannel", government_alone_defines_chaincode))
    assert message.endswith(
        ": Application lacks the inventory's policy Endorsement (ImplicitMeta MAJORITY Endorsement); "
        "Application has policy Extra, which the inventory's has not; "
        "Application policy LifecycleEndorsement is Signature OR('OrgGovernmentMSP.admin'), "
        "the inventory's is ImplicitMeta MAJORITY Endorsement"
    ), message


def test_a_changed_member_policy_is_refused(admin: ModuleType, network: Network) -> None:
    def any_member_endorses(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        org(configtx, "OrgPatientMSP")["Policies"]["Endorsement"]["Rule"] = "OR('OrgPatientMSP.member')"

    message = refusal(admin, network, network.block("kafka", "patientchannel", any_member_endorses))
    assert message.endswith(
        ": OrgPatientMSP policy Endorsement is Signature OR('OrgPatientMSP.member'), "
        "the inventory's is Signature OR('OrgPatientMSP.peer')"
    ), message


def test_a_member_whose_clients_read_blocks_is_refused(admin: ModuleType, network: Network) -> None:
    def clients_read(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        org(configtx, "OrgPatientMSP")["Policies"]["Readers"]["Rule"] = (
            "OR('OrgPatientMSP.admin', 'OrgPatientMSP.peer', 'OrgPatientMSP.client')"
        )

    message = refusal(admin, network, network.block("kafka", "patientchannel", clients_read))
    assert message.endswith(
        ": OrgPatientMSP policy Readers is Signature OR('OrgPatientMSP.admin', 'OrgPatientMSP.peer', "
        "'OrgPatientMSP.client'), the inventory's is Signature OR('OrgPatientMSP.admin', 'OrgPatientMSP.peer')"
    ), message


def test_changed_acls_are_refused(admin: ModuleType, network: Network) -> None:
    """E.g. a channel a third party created first, where clients get blocks from the peers."""

    def clients_get_blocks(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        acls = profile["Application"]["ACLs"]
        acls["event/Block"] = "/Channel/Application/Writers"
        acls["custom/Resource"] = "Writers"
        del acls["qscc/GetBlockByNumber"]

    message = refusal(
        admin,
        network,
        network.block("etcdraft", "datausagechannel", clients_get_blocks),
        "etcdraft",
        "datausagechannel",
    )
    assert message.endswith(
        ": Application has ACL custom/Resource (/Channel/Application/Writers), which the inventory's has not; "
        "Application ACL event/Block is /Channel/Application/Writers, the inventory's is /Channel/Application/Readers; "
        "Application lacks the inventory's ACL qscc/GetBlockByNumber (/Channel/Application/Readers)"
    ), message


def test_a_block_without_acls_is_refused(admin: ModuleType, network: Network) -> None:
    def fabric_defaults(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        del profile["Application"]["ACLs"]

    message = refusal(admin, network, network.block("kafka", "patientchannel", fabric_defaults))
    assert "Application lacks the inventory's ACL event/Block (/Channel/Application/Readers)" in message, message
    assert "Application lacks the inventory's ACL peer/Propose (/Channel/Application/Writers)" in message, message


def test_an_acl_naming_an_application_policy_relatively_is_the_same(admin: ModuleType, network: Network) -> None:
    """Fabric reads a reference without a leading slash as an Application policy (common/channelconfig/acls.go)."""

    def relative(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        profile["Application"]["ACLs"]["event/Block"] = "Readers"

    block = decoded(network.block("kafka", "patientchannel", relative))
    spec = admin.load_spec(str(network.spec_file("kafka", "patientchannel")))
    assert channel_config_module().config_differences("patientchannel", block, spec, True) == []


def test_a_foreign_root_certificate_is_refused(admin: ModuleType, network: Network) -> None:
    def foreign_msp(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        org(configtx, "OrgPatientMSP")["MSPDir"] = str(network.folder / "foreign" / "OrgPatient" / "msp")

    message = refusal(admin, network, network.block("kafka", "patientchannel", foreign_msp))
    assert (
        f": OrgPatientMSP's MSP has root certificate {fingerprint(network.foreign_root)} "
        f"instead of ours, {fingerprint(network.root)}; "
    ) in message
    assert "OrgGovernmentMSP" not in message


def test_a_root_certificate_besides_ours_is_refused(admin: ModuleType, network: Network) -> None:
    def another_root(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
        org(configtx, "OrgPatientMSP")["MSPDir"] = str(network.folder / "extra" / "OrgPatient" / "msp")

    block = network.block("etcdraft", "datausagechannel", another_root)
    message = refusal(admin, network, block, "etcdraft", "datausagechannel")
    assert message.endswith(
        f": OrgPatientMSP's MSP has root certificate {fingerprint(network.foreign_root)} besides ours"
    ), message


def test_a_block_of_another_channel_is_refused(admin: ModuleType, network: Network) -> None:
    message = refusal(admin, network, network.block("kafka", "patientchannel", channel_id="roguechannel"))
    assert message.endswith(": it is a block of channel 'roguechannel'"), message


def test_signature_rules_are_read_in_configtx_notation(admin: ModuleType) -> None:
    identities = [
        {"principal": {"msp_identifier": msp, "role": role}, "principal_classification": "ROLE"}
        for msp, role in (("A", "ADMIN"), ("B", "PEER"), ("C", "MEMBER"))
    ]
    rules = [{"signed_by": 0}, {"signed_by": 1}, {"signed_by": 2}]
    policy: dict[str, Any] = {
        "type": 1,
        "value": {"identities": identities, "rule": {"n_out_of": {"n": 2, "rules": rules}}},
    }
    assert channel_config_module().policy_text(policy) == "Signature OutOf(2, 'A.admin', 'B.peer', 'C.member')"
    policy["value"]["rule"] = {"n_out_of": {"n": 2, "rules": rules[:2]}}
    assert channel_config_module().policy_text(policy) == "Signature AND('A.admin', 'B.peer')"
    spaced = {"Type": "Signature", "Rule": "AND( \"A.admin\" ,'B.peer')"}
    assert channel_config_module().expected_policy_text(spaced) == "Signature AND('A.admin', 'B.peer')"


# The subcommands, as Ansible runs them on a peer host: the peer CLI is never reached when the check fails.


class RecordingPeerAdmin:
    """medledger-peer-admin's PeerAdmin with the peer CLI recorded instead of run (configtxlator is real).
    The ordering service answers `fetch 0` with `orderer_block` (NOT_FOUND when None; FORBIDDEN the first
    `refusals` times, as an orderer that has not yet ordered the update adding the admin's organisation) and
    `create` with `created_block`, and orders an `update` at once (the configuration served moves to its next
    sequence)."""

    def __init__(self, admin: ModuleType, network: Network, joined: list[str]) -> None:
        channel_dir = network.folder / "channels"
        channel_dir.mkdir(exist_ok=True)
        settings = {
            "bin": str(BIN),
            "cli_config": str(network.folder),
            "msp_id": "OrgPatientMSP",
            "admin_identity": str(network.folder / "admin-orgpatient"),
            "orderer": "127.0.0.1:7050",
            "orderer_tls_ca": "ca.pem",
            "peer": "127.0.0.1:7051",
            "peer_tls_ca": "ca.pem",
            "channel_dir": str(channel_dir),
        }
        self.admin = admin.PeerAdmin(settings)
        self.peer_calls: list[tuple[str, ...]] = []
        self.current: dict[str, Any] = {}
        self.orderer_block: Path | None = None
        self.created_block: Path | None = None
        self.refusals = 0
        real_run = self.admin.run

        def run(tool: str, *args: str) -> str:
            if tool != "peer":
                return str(real_run(tool, *args))
            self.peer_calls.append(args)
            if args[:3] == ("channel", "fetch", "0"):
                if self.refusals:
                    self.refusals -= 1
                    raise admin.CommandFailed("peer channel failed: rpc error: status FORBIDDEN")
                if self.orderer_block is None:
                    raise admin.CommandFailed("peer channel failed: rpc error: status NOT_FOUND")
                Path(args[3]).write_bytes(self.orderer_block.read_bytes())
            if args[:2] == ("channel", "create") and self.created_block:
                Path(args[args.index("--outputBlock") + 1]).write_bytes(self.created_block.read_bytes())
            if args[:2] == ("channel", "update"):
                config = self.current["data"]["data"][0]["payload"]["data"]["config"]
                config["sequence"] = str(int(config.get("sequence", 0)) + 1)
            return ""

        self.admin.run = run
        self.admin.joined = lambda: joined
        self.admin.config_block = lambda channel, folder, orderer=None: self.current


def third_party_member(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
    profile["Application"]["Organizations"].append(org(configtx, "OrgThirdPartyMSP"))


def test_check_genesis_subcommand(admin: ModuleType, network: Network) -> None:
    peer = RecordingPeerAdmin(admin, network, joined=[])
    spec = str(network.spec_file("kafka", "patientchannel"))
    good, rogue = network.block("kafka", "patientchannel"), network.block("kafka", "patientchannel", third_party_member)
    assert admin.peer_main(peer.admin, ["check-genesis", "patientchannel", str(good), spec]) == "matches the inventory"
    with pytest.raises(admin.CommandFailed, match=r"OrgThirdPartyMSP is a member, the inventory's members are"):
        admin.peer_main(peer.admin, ["check-genesis", "patientchannel", str(rogue), spec])
    # Without SPEC: the one the role wrote beside the block, in the settings' channel_dir.
    with pytest.raises(admin.CommandFailed, match=r"^no expected channel configuration at .*/patientchannel\.exp"):
        admin.peer_main(peer.admin, ["check-genesis", "patientchannel", str(good)])
    (Path(peer.admin.settings["channel_dir"]) / "patientchannel.expected.json").write_text(Path(spec).read_text())
    assert admin.peer_main(peer.admin, ["check-genesis", "patientchannel", str(good)]) == "matches the inventory"
    assert peer.peer_calls == []


def test_join_refuses_a_rogue_block_before_the_peer_is_asked(admin: ModuleType, network: Network) -> None:
    peer = RecordingPeerAdmin(admin, network, joined=[])
    spec = str(network.spec_file("kafka", "patientchannel"))
    rogue = network.block("kafka", "patientchannel", third_party_member)
    with pytest.raises(admin.NotTheInventorys, match=r"^patientchannel: not joined: block 0 \(.*\) does not match"):
        admin.peer_main(peer.admin, ["join", "patientchannel", str(rogue), spec])
    assert not [call for call in peer.peer_calls if call[:2] == ("channel", "join")]
    peer.peer_calls.clear()
    good = network.block("kafka", "patientchannel")
    assert admin.peer_main(peer.admin, ["join", "patientchannel", str(good), spec]) == "joined"
    assert peer.peer_calls == [("channel", "join", "-b", str(good))]


def without_third_party(profile: dict[str, Any], configtx: dict[str, Any]) -> None:
    profile["Application"]["Organizations"] = [
        member for member in profile["Application"]["Organizations"] if member["ID"] != "OrgThirdPartyMSP"
    ]


def test_a_peer_joins_a_channel_that_gained_a_member_since_its_genesis_block(
    admin: ModuleType, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organisation onboarded later is in the channel's configuration now, not in its block 0: the block is
    accepted as the ordering service's own block 0 of a channel whose current configuration is the inventory's.
    (A clock that moves on 7 s per look: the wait for a lagging orderer ends at once.)"""
    freeze_clock(monkeypatch, admin)
    peer = RecordingPeerAdmin(admin, network, joined=[])
    spec = str(network.spec_file("kafka", "datausagechannel"))
    before = network.block("kafka", "datausagechannel", without_third_party)
    join = ["join", "datausagechannel", str(before), spec]
    # The current configuration lacks the member too: the block's own differences are the refusal.
    peer.orderer_block, peer.current = before, decoded(before)
    with pytest.raises(admin.NotTheInventorys, match=r"not joined: block 0 .* OrgThirdPartyMSP is not a member"):
        admin.peer_main(peer.admin, join)
    # The member was added, but the ordering service's block 0 is another block than the one given.
    peer.current = decoded(network.block("kafka", "datausagechannel"))
    peer.orderer_block = network.block("kafka", "patientchannel")
    with pytest.raises(admin.NotTheInventorys, match=r"OrgThirdPartyMSP is not a member"):
        admin.peer_main(peer.admin, join)
    assert not [call for call in peer.peer_calls if call[:2] == ("channel", "join")]
    peer.orderer_block = before
    assert admin.peer_main(peer.admin, join) == "joined"
    assert peer.peer_calls[-1] == ("channel", "join", "-b", str(before))


def test_a_new_members_peer_joins_once_its_admins_orderer_has_the_update(
    admin: ModuleType, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The update adding the organisation was ordered, but the orderer its admin asks is a Raft follower that
    refuses the admin block 0 until it has the update (a lab run failed so, the first look being the last)."""
    freeze_clock(monkeypatch, admin)
    peer = RecordingPeerAdmin(admin, network, joined=[])
    spec = str(network.spec_file("kafka", "datausagechannel"))
    before = network.block("kafka", "datausagechannel", without_third_party)
    peer.orderer_block, peer.current = before, decoded(network.block("kafka", "datausagechannel"))
    join = ["join", "datausagechannel", str(before), spec]
    peer.refusals = 2
    assert admin.peer_main(peer.admin, join) == "joined"
    # Refused for longer than an update takes to be ordered (20 s): the block's own differences are the refusal.
    peer.refusals = 4
    with pytest.raises(admin.NotTheInventorys, match=r"not joined: block 0 .* OrgThirdPartyMSP is not a member"):
        admin.peer_main(peer.admin, join)


def test_a_joined_peer_checks_the_current_configuration(admin: ModuleType, network: Network) -> None:
    peer = RecordingPeerAdmin(admin, network, joined=["patientchannel"])
    spec = str(network.spec_file("kafka", "patientchannel"))
    peer.current = decoded(network.block("kafka", "patientchannel"))
    peer.current["header"]["number"] = "4"
    assert admin.peer_main(peer.admin, ["join", "patientchannel", "unused.block", spec]) == "joined already"
    peer.current = decoded(network.block("kafka", "patientchannel", third_party_member))
    peer.current["header"]["number"] = "7"
    with pytest.raises(admin.NotTheInventorys, match=r"^patientchannel: the current configuration \(block 7\) does"):
        admin.peer_main(peer.admin, ["join", "patientchannel", "unused.block", spec])
    assert peer.peer_calls == []


def test_create_channel_keeps_only_the_inventorys_block(admin: ModuleType, network: Network) -> None:
    peer = RecordingPeerAdmin(admin, network, joined=[])
    spec = str(network.spec_file("kafka", "patientchannel"))
    good, rogue = network.block("kafka", "patientchannel"), network.block("kafka", "patientchannel", third_party_member)
    target = network.folder / "channels" / "patientchannel.created.block"
    create = ["create-channel", "patientchannel", "patientchannel.tx", str(target), spec]
    # Someone else created the channel first, with a third party as a member: the block is kept nowhere.
    peer.orderer_block = rogue
    with pytest.raises(
        admin.NotTheInventorys,
        match=r"^patientchannel: block 0 from the ordering service \(channel exists\) does not match the inventory: "
        r"OrgThirdPartyMSP is a member, ",
    ):
        admin.peer_main(peer.admin, create)
    assert not target.exists()
    peer.orderer_block = good
    assert admin.peer_main(peer.admin, create) == "exists"
    assert target.read_bytes() == good.read_bytes()
    target.unlink()
    peer.orderer_block, peer.created_block = None, good
    assert admin.peer_main(peer.admin, create) == "created"
    assert target.read_bytes() == good.read_bytes()
    assert peer.peer_calls[-1][:5] == ("channel", "create", "-c", "patientchannel", "-f")


def signed_update(folder: Path, *signers: str) -> Path:
    """A configuration update envelope of patientchannel carrying a signature by an admin of each MSP ID."""
    signatures = [
        {"signature_header": {"creator": {"mspid": msp_id, "id_bytes": ""}, "nonce": ""}, "signature": ""}
        for msp_id in signers
    ]
    update = {"channel_id": "patientchannel", "read_set": {}, "write_set": {}}
    header = {"channel_header": {"channel_id": "patientchannel", "type": 2}}
    envelope = {"payload": {"header": header, "data": {"config_update": update, "signatures": signatures}}}
    source, target = folder / "envelope.json", folder / f"envelope-{'-'.join(signers) or 'unsigned'}.pb"
    source.write_text(json.dumps(envelope))
    encode = [tool("configtxlator"), "proto_encode", "--type", "common.Envelope", "--input", str(source)]
    subprocess.run([*encode, "--output", str(target)], check=True)
    return target


def test_an_update_is_submitted_only_once_the_members_admins_that_the_policy_needs_signed(
    admin: ModuleType, network: Network
) -> None:
    """The Patient Channel's two members: a majority of their admins is both. The submitter (OrgPatient's admin)
    signs by submitting; the government's must have signed before, on its own host."""
    peer = RecordingPeerAdmin(admin, network, joined=["patientchannel"])
    peer.current = decoded(network.block("kafka", "patientchannel"))
    unsigned = signed_update(network.folder)
    with pytest.raises(admin.CommandFailed, match=r"still to sign: the admins of OrgGovernmentMSP \(signed"):
        admin.peer_main(peer.admin, ["submit-update", "patientchannel", str(unsigned)])
    # An outsider's signature counts for nothing.
    outsider = signed_update(network.folder, "OrgThirdPartyMSP")
    with pytest.raises(admin.CommandFailed, match=r"signed by OrgPatientMSP, OrgThirdPartyMSP\)"):
        admin.peer_main(peer.admin, ["submit-update", "patientchannel", str(outsider)])
    assert peer.peer_calls == []
    signed = signed_update(network.folder, "OrgGovernmentMSP")
    assert admin.peer_main(peer.admin, ["submit-update", "patientchannel", str(signed)]) == "updated"
    assert peer.peer_calls[-1][:4] == ("channel", "update", "-f", str(signed))
    # The government's admin does not sign twice; OrgPatient's does not sign before it submits.
    assert admin.peer_main(peer.admin, ["sign-update", str(signed)]) == "signed"
    peer.admin.settings["msp_id"] = "OrgGovernmentMSP"
    assert admin.peer_main(peer.admin, ["sign-update", str(signed)]) == "signed already"


def test_check_signers_names_who_must_still_sign_and_knows_a_member(admin: ModuleType, network: Network) -> None:
    peer = RecordingPeerAdmin(admin, network, joined=["datausagechannel"])
    peer.current = decoded(network.block("kafka", "datausagechannel"))
    check = ["check-signers", "datausagechannel", "OrgNewMSP"]
    assert admin.peer_main(peer.admin, [*check, "OrgPatientMSP,OrgThirdPartyMSP"]) == "enough signers"
    with pytest.raises(admin.CommandFailed, match=r"the admins of 1 of OrgPatientMSP, OrgThirdPartyMSP "):
        admin.peer_main(peer.admin, [*check, "OrgGovernmentMSP"])
    member = ["check-signers", "datausagechannel", "OrgThirdPartyMSP", "OrgGovernmentMSP"]
    assert admin.peer_main(peer.admin, member) == "member already"
