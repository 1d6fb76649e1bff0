"""Who may use what on a channel (issue 12, "reads per role" at the channel layer): a member's clients use
the chaincode only; blocks and events, from a peer or an orderer, are for admins and peers.

The policies are read from real genesis blocks (configtxgen makes them from the orderers' configtx.yaml
template, configtxlator decodes them; see test_channel_genesis_check) and evaluated for one signer of each
organisation and role the way Fabric 2.5 evaluates them: ImplicitMeta over the subgroups
(common/policies/implicitmeta.go), Signature policies as cauthdsl compiles them (common/cauthdsl/cauthdsl.go),
an identity satisfying a role principal when it has that NodeOU role, or any role for MEMBER.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from medledger_tools.paths import REPO_ROOT

from .test_channel_genesis_check import BIN, CHANNELS, CONSENSUS, Network, decoded

ORDERER_MSP = "OrgOrdererMSP"
MSP_IDS = ("OrgPatientMSP", "OrgGovernmentMSP", "OrgThirdPartyMSP", ORDERER_MSP)
ROLES = ("admin", "peer", "client", "orderer")
# The paper inventory's channel members.
MEMBERS = {
    "patientchannel": ("OrgPatientMSP", "OrgGovernmentMSP"),
    "datausagechannel": ("OrgPatientMSP", "OrgGovernmentMSP", "OrgThirdPartyMSP"),
}
SIGNERS = [(msp_id, role) for msp_id in MSP_IDS for role in ROLES]

# The peer resources a client needs: Gateway Evaluate and Endorse run the proposal through the endorser
# (peer/Propose, core/endorser/support.go:137; the Gateway sends the client's own signed proposal to every
# endorser), a chaincode calling another checks peer/ChaincodeToChaincode (core/chaincode/handler.go:351),
# and Gateway CommitStatus checks gateway/CommitStatus (internal/pkg/gateway/commitstatus.go:41) and then
# reads the peer's ledger and its commit notifications, not its deliver service (commit/finder.go).
CLIENT_RESOURCES = {"peer/Propose", "peer/ChaincodeToChaincode", "gateway/CommitStatus"}

Signer = tuple[str, str]


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Network:
    if BIN is None:
        pytest.skip("no Fabric artifact with configtxgen and configtxlator: run `make artifacts` (or ARTIFACTS_DIR)")
    return Network(tmp_path_factory.mktemp("network"))


@pytest.fixture(scope="module")
def configs(network: Network) -> dict[tuple[str, str], dict[str, Any]]:
    """Each channel's configuration group (/Channel) in its genesis block, per consensus type."""
    groups = {}
    for consensus in CONSENSUS:
        for channel in CHANNELS:
            payload = decoded(network.block(consensus, channel))["data"]["data"][0]["payload"]
            groups[consensus, channel] = payload["data"]["config"]["channel_group"]
    return groups


def satisfies(signer: Signer, identity: dict[str, Any]) -> bool:
    if identity.get("principal_classification", "ROLE") != "ROLE":
        return False
    principal = identity.get("principal", {})
    msp_id, role = signer
    return bool(
        principal.get("msp_identifier") == msp_id and principal.get("role", "MEMBER") in ("MEMBER", role.upper())
    )


def signature_rule(
    rule: dict[str, Any], identities: list[dict[str, Any]], signers: list[Signer], used: list[bool]
) -> bool:
    """cauthdsl's compiled rule: each signature satisfies one principal at most."""
    if "n_out_of" in rule:
        verified, inner = 0, list(used)
        for sub in rule["n_out_of"].get("rules", []):
            trial = list(inner)
            if signature_rule(sub, identities, signers, trial):
                verified += 1
                inner = trial
        if verified >= int(rule["n_out_of"].get("n", 0)):
            used[:] = inner
            return True
        return False
    principal = identities[int(rule.get("signed_by", 0))]
    for index, signer in enumerate(signers):
        if not used[index] and satisfies(signer, principal):
            used[index] = True
            return True
    return False


def admits(group: dict[str, Any], name: str, signers: list[Signer]) -> bool:
    """Whether the signatures satisfy policy `name` of the configuration group."""
    entry = group.get("policies", {}).get(name)
    if entry is None:  # a missing policy rejects
        return False
    policy = entry["policy"]
    value = policy.get("value") or {}
    if int(policy["type"]) == 3:  # ImplicitMeta
        subgroups = list(group.get("groups", {}).values())
        satisfied = sum(admits(subgroup, value["sub_policy"], signers) for subgroup in subgroups)
        threshold = {"ANY": 1, "ALL": len(subgroups), "MAJORITY": len(subgroups) // 2 + 1}[value.get("rule", "ANY")]
        return satisfied >= (threshold if subgroups else 0)
    assert int(policy["type"]) == 1, policy
    return signature_rule(value["rule"], value.get("identities", []), signers, [False] * len(signers))


def who(channel_group: dict[str, Any], path: str) -> set[Signer]:
    """The single signers a policy (an absolute path, /Channel/...) admits."""
    parts = path.strip("/").split("/")
    assert parts[0] == "Channel", path
    group = channel_group
    for part in parts[1:-1]:
        group = group["groups"][part]
    return {signer for signer in SIGNERS if admits(group, parts[-1], [signer])}


def acls(channel_group: dict[str, Any]) -> dict[str, str]:
    found = channel_group["groups"]["Application"]["values"]["ACLs"]["value"]["acls"]
    return {resource: str(acl["policy_ref"]) for resource, acl in found.items()}


def of(members: tuple[str, ...], *roles: str) -> set[Signer]:
    return {(msp_id, role) for msp_id in members for role in roles}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("consensus", CONSENSUS)
def test_clients_use_the_chaincode_only_and_blocks_and_events_are_for_admins_and_peers(
    configs: dict[tuple[str, str], dict[str, Any]], consensus: str, channel: str
) -> None:
    group, members = configs[consensus, channel], MEMBERS[channel]
    table = acls(group)
    assert set(table) >= CLIENT_RESOURCES
    for resource, policy in sorted(table.items()):
        expected = of(members, "admin", "client") if resource in CLIENT_RESOURCES else of(members, "admin", "peer")
        assert who(group, policy) == expected, (resource, policy)
    for resource in ("event/Block", "event/FilteredBlock", "gateway/ChaincodeEvents", "qscc/GetBlockByNumber"):
        assert not who(group, table[resource]) & of(MSP_IDS, "client"), resource


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("consensus", CONSENSUS)
def test_policies_checked_without_an_acl(
    configs: dict[tuple[str, str], dict[str, Any]], consensus: str, channel: str
) -> None:
    group, members = configs[consensus, channel], MEMBERS[channel]
    # An orderer's Deliver (orderer/common/server/server.go:193): blocks for the members' admins and peers
    # and the orderer organisation's admins and orderers; no client of any organisation, no outsider.
    assert who(group, "/Channel/Readers") == of(members, "admin", "peer") | of((ORDERER_MSP,), "admin", "orderer")
    # Gossip between peers (internal/peer/gossip/mcs.go:247).
    assert who(group, "/Channel/Application/Readers") == of(members, "admin", "peer")
    # An orderer's Broadcast, where the Gateway's Submit sends the client's own signed transaction
    # (orderer/common/msgprocessor/standardchannel.go:70): the members' admins and clients; the orderer
    # organisation's Writers are any of its identities (its configuration updates; blocks are signed by them).
    assert who(group, "/Channel/Writers") == of(members, "admin", "client") | of((ORDERER_MSP,), *ROLES)
    # The discovery service (internal/peer/node/start.go:988).
    assert who(group, "/Channel/Application/Writers") == of(members, "admin", "client")
    # Configuration updates of one organisation (anchor peers): its admins.
    for msp_id in members:
        assert who(group, f"/Channel/Application/{msp_id}/Admins") == {(msp_id, "admin")}
    assert who(group, "/Channel/Orderer/Admins") == {(ORDERER_MSP, "admin")}


def test_the_block_has_the_templates_acls(network: Network, configs: dict[tuple[str, str], dict[str, Any]]) -> None:
    template = yaml.safe_load(network.spec_file("kafka", "patientchannel").read_text())["application"]["acls"]
    assert template
    for key, group in configs.items():
        assert acls(group) == template, key


def test_the_gateway_calls_our_clients_make_are_the_ones_the_channel_lets_them_make(
    configs: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """medledger_client.gateway calls Evaluate, Endorse, Submit and CommitStatus, and nothing that reads
    blocks or events; a member's client passes what each of them checks."""
    source = (REPO_ROOT / "services" / "medledger_client" / "gateway.py").read_text()
    assert set(re.findall(r"self\._stub\.(\w+)\(", source)) == {"Evaluate", "Endorse", "Submit", "CommitStatus"}
    group = configs["kafka", "patientchannel"]
    table = acls(group)
    checked = {
        "Evaluate": table["peer/Propose"],
        "Endorse": table["peer/Propose"],
        "Submit": "/Channel/Writers",
        "CommitStatus": table["gateway/CommitStatus"],
    }
    for call, policy in checked.items():
        assert ("OrgPatientMSP", "client") in who(group, policy), call


# Fabric's own list of what its peer checks against a channel policy, from the pinned module's source
# (the Go module cache `make artifacts` fills), so a Fabric upgrade that adds a resource is noticed.


def fabric_source() -> Path | None:
    pins = yaml.safe_load((REPO_ROOT / "versions.yml").read_text())
    module = next(entry for entry in pins["fabric"]["go"] if entry.get("module") == "github.com/hyperledger/fabric")
    caches = [os.environ.get("GOMODCACHE", "")]
    go = shutil.which("go")
    if go:
        found = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=False)
        caches.append(found.stdout.strip())
    caches.append(str(Path.home() / "go" / "pkg" / "mod"))
    for cache in filter(None, caches):
        folder = Path(cache) / f"github.com/hyperledger/fabric@{module['version']}"
        if (folder / "core" / "aclmgmt" / "defaultaclprovider.go").is_file():
            return folder
    return None


def fabric_resources(folder: Path) -> dict[str, tuple[str, str]]:
    """Resource -> (c or p: channel or peer-wide, default policy), from core/aclmgmt."""
    names = dict(
        re.findall(r'^\s*(\w+)\s*=\s*"([^"]+)"', (folder / "core/aclmgmt/resources/resources.go").read_text(), re.M)
    )
    provider = (folder / "core/aclmgmt/defaultaclprovider.go").read_text()
    entries = re.findall(r"d\.([cp])ResourcePolicyMap\[resources\.(\w+)\]\s*=\s*([^\s/]+)", provider)
    assert entries, "core/aclmgmt/defaultaclprovider.go no longer reads as expected"
    return {names[constant]: (kind, policy) for kind, constant, policy in entries}


def test_every_resource_fabric_checks_against_a_channel_policy_is_listed(
    configs: dict[tuple[str, str], dict[str, Any]],
) -> None:
    folder = fabric_source()
    if folder is None:
        pytest.skip("the pinned Fabric module's source is not in the Go module cache (make artifacts)")
    resources = fabric_resources(folder)
    channel = {name for name, (kind, policy) in resources.items() if kind == "c" and policy != '""'}
    peer_wide = {name for name, (kind, _) in resources.items() if kind == "p"}
    table = acls(configs["kafka", "patientchannel"])
    # Peer-wide resources follow the peer's local MSP whatever a channel says (core/aclmgmt/resourceprovider.go).
    assert not set(table) & peer_wide
    assert set(table) == channel
    readers_by_default = {name for name in channel if resources[name][1] == "CHANNELREADERS"}
    assert {"event/Block", "event/FilteredBlock", "qscc/GetBlockByNumber", "gateway/CommitStatus"} <= readers_by_default
    # Every resource that defaulted to the members' Readers (which had their clients) now excludes them,
    # but for the one clients need.
    for name in readers_by_default - CLIENT_RESOURCES:
        assert table[name] == "/Channel/Application/Readers", name
