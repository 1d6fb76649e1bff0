"""What a channel's configuration holds and must hold, over configurations decoded by configtxlator: the
comparison with the inventory's expected spec (check-genesis, join, create-channel), the policies in
configtx.yaml's notation, who must still sign a change, the revocation lists and the consensus type.
medledger_fabric_admin.py, installed beside it, runs the Fabric CLIs around it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


class CommandFailed(Exception):
    """A Fabric CLI failed; the message is its own."""


# What a channel's configuration must be (check-genesis, join, create-channel). The expected spec is the
# channel's profile as the orderers' configtx.yaml template renders it from the inventory, which the
# fabric_peer role writes beside the genesis block (<channel>.expected.json):
#   {"channel": ..., "consensus": "kafka" | "etcdraft",
#    "application": {"organisations": [ORG, ...], "policies": {NAME: {"Type": ..., "Rule": ...}},
#                    "acls": {RESOURCE: POLICY REFERENCE, e.g. "event/Block": "/Channel/Application/Readers"}},
#    "orderer": {"organisations": [ORG, ...]}}
# with ORG as configtx.yaml has it: {"ID": MSP ID, "MSPDir": folder on this host, "Policies": {...}};
# load_spec adds each MSP folder's certificates as ORG["msp"], which is what the comparison reads.
CONFIG_HEADER = 1  # common.HeaderType CONFIG
# MSP folder -> field of the channel's MSP value (configtxgen reads the same folders).
MSP_FOLDERS = {
    "cacerts": "root_certs",
    "intermediatecerts": "intermediate_certs",
    "admincerts": "admins",
    "tlscacerts": "tls_root_certs",
    "tlsintermediatecerts": "tls_intermediate_certs",
}
CERTIFICATE_KINDS = {
    "root_certs": "root certificate",
    "intermediate_certs": "intermediate certificate",
    "admins": "admin certificate",
    "tls_root_certs": "TLS root certificate",
    "tls_intermediate_certs": "TLS intermediate certificate",
}
POLICY_TYPES = {1: "Signature", 2: "MSP", 3: "ImplicitMeta", 4: "ImplicitOrderer"}
# A relative ACL policy reference names an Application policy (Fabric's common/channelconfig/acls.go).
APPLICATION_POLICY_PATH = "/Channel/Application/"
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)


class NotTheInventorys(CommandFailed):
    """A channel configuration that is not the one the inventory describes."""


def load_spec(path: str) -> dict[str, Any]:
    """The expected spec, with the certificates of each organisation's MSP folder on this host."""
    try:
        spec = dict(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise CommandFailed(f"no expected channel configuration at {path}; the fabric_peer role writes it") from None
    for group in ("application", "orderer"):
        for org in spec[group]["organisations"] or []:
            folder = Path(org["MSPDir"])
            if not folder.is_dir():
                raise CommandFailed(f"{org['ID']}: no MSP folder at {folder}; the fabric_msp role writes it")
            org["msp"] = {
                field: [
                    certificate.read_text()
                    for certificate in sorted((folder / name).glob("*"))
                    if certificate.is_file()
                ]
                for name, field in MSP_FOLDERS.items()
            }
    return spec


def certificates(pems: list[str]) -> dict[str, bytes]:
    """Each certificate of the PEM texts, by its SHA-256 fingerprint (DER)."""
    found = {}
    for pem in pems:
        for body in PEM_CERTIFICATE.findall(pem):
            der = base64.b64decode("".join(body.split()))
            found[hashlib.sha256(der).hexdigest()] = der
    return found


def fingerprints(digests: Iterable[str]) -> str:
    return ", ".join(f"SHA-256 {digest[:16]}" for digest in sorted(digests))


def principal_text(identity: dict[str, Any]) -> str:
    principal = identity.get("principal", {})
    if identity.get("principal_classification", "ROLE") == "ROLE":
        return f"'{principal.get('msp_identifier', '')}.{str(principal.get('role', 'MEMBER')).lower()}'"
    return f"{identity.get('principal_classification')}({json.dumps(principal, sort_keys=True)})"


def rule_text(rule: dict[str, Any], identities: list[dict[str, Any]]) -> str:
    """A signature policy's rule in configtx.yaml's notation: OR(...), AND(...) or OutOf(n, ...)."""
    if "signed_by" in rule:
        index = int(rule["signed_by"])
        return principal_text(identities[index]) if index < len(identities) else f"signed_by({index})"
    n_out_of = rule.get("n_out_of", {})
    needed, rules = int(n_out_of.get("n", 0)), n_out_of.get("rules", [])
    inner = ", ".join(rule_text(sub, identities) for sub in rules)
    if needed == 1:
        return f"OR({inner})"
    if needed == len(rules):
        return f"AND({inner})"
    return f"OutOf({needed}, {inner})"


def policy_text(policy: dict[str, Any]) -> str:
    """A decoded policy as configtx.yaml writes it: "Signature OR('A.admin')", "ImplicitMeta ANY Readers"."""
    kind, value = int(policy.get("type", 0)), policy.get("value") or {}
    name = POLICY_TYPES.get(kind, f"type {kind}")
    if kind == 1:
        return f"{name} {rule_text(value.get('rule', {}), value.get('identities', []))}"
    if kind == 3:
        return f"{name} {value.get('rule', 'ANY')} {value.get('sub_policy', '')}"
    return f"{name} {json.dumps(value, sort_keys=True)}"


def expected_policy_text(policy: dict[str, Any]) -> str:
    rule = " ".join(str(policy["Rule"]).split()) if policy["Type"] == "ImplicitMeta" else str(policy["Rule"])
    if policy["Type"] == "Signature":
        rule = re.sub(r"\s+", "", rule).replace('"', "'").replace(",", ", ")
    return f"{policy['Type']} {rule}"


def policy_differences(where: str, found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    differences = []
    for name in sorted(set(found) | set(expected)):
        if name not in expected:
            differences.append(f"{where} has policy {name}, which the inventory's has not")
        elif name not in found:
            differences.append(f"{where} lacks the inventory's policy {name} ({expected_policy_text(expected[name])})")
        else:
            actual, wanted = policy_text(found[name].get("policy", {})), expected_policy_text(expected[name])
            if actual != wanted:
                differences.append(f"{where} policy {name} is {actual}, the inventory's is {wanted}")
    return differences


def absolute_policy_ref(reference: str) -> str:
    return reference if reference.startswith("/") else APPLICATION_POLICY_PATH + reference


def acl_differences(application: dict[str, Any], expected: dict[str, str]) -> list[str]:
    """How the Application group's ACLs (resource -> policy reference) differ from the expected ones. An
    empty reference counts as none: Fabric then applies its default for the resource."""
    acls = application.get("values", {}).get("ACLs", {}).get("value", {}).get("acls") or {}
    found = {
        str(resource): absolute_policy_ref(str(acl.get("policy_ref")))
        for resource, acl in acls.items()
        if (acl or {}).get("policy_ref")
    }
    wanted = {str(resource): absolute_policy_ref(str(reference)) for resource, reference in expected.items()}
    differences = []
    for resource in sorted(set(found) | set(wanted)):
        if resource not in wanted:
            differences.append(f"Application has ACL {resource} ({found[resource]}), which the inventory's has not")
        elif resource not in found:
            differences.append(f"Application lacks the inventory's ACL {resource} ({wanted[resource]})")
        elif found[resource] != wanted[resource]:
            actual, ours = found[resource], wanted[resource]
            differences.append(f"Application ACL {resource} is {actual}, the inventory's is {ours}")
    return differences


# How many of n members an ImplicitMeta rule needs.
IMPLICIT_META_NEEDED: dict[str, Callable[[int], int]] = {
    "ANY": lambda n: 1,
    "ALL": lambda n: n,
    "MAJORITY": lambda n: n // 2 + 1,
}


def signers_still_needed(config: dict[str, Any], group: str, signed: set[str]) -> tuple[int, list[str]]:
    """How many more member organisations' admins must sign a change to the group (its Admins policy, an
    ImplicitMeta rule over the members' Admins) when the admins of the MSP IDs `signed` have, and which
    members have not: (0, []) once the policy is met."""
    group_config = config["channel_group"]["groups"][group]
    admins = group_config["policies"]["Admins"]["policy"]
    if int(admins.get("type", 0)) != 3:
        raise ValueError(f"{group}'s Admins policy is {policy_text(admins)}, not an ImplicitMeta rule")
    rule, sub_policy = admins["value"].get("rule", "ANY"), admins["value"].get("sub_policy", "Admins")
    members = group_config.get("groups", {})

    def has_signed(member: dict[str, Any]) -> bool:
        value = member["policies"][sub_policy]["policy"].get("value") or {}
        return any(
            identity.get("principal", {}).get("msp_identifier") in signed for identity in value.get("identities", [])
        )

    unsigned = sorted(name for name, member in members.items() if not has_signed(member))
    needed = IMPLICIT_META_NEEDED[rule](len(members)) - (len(members) - len(unsigned))
    return (needed, unsigned) if needed > 0 else (0, [])


def channel_revocation_list(crls: Iterable[bytes]) -> list[str]:
    """CRLs (PEM) as an MSP's revocation_list holds them once decoded by configtxlator, in a stable order."""
    encoded = []
    for crl in crls:
        if b"-----BEGIN X509 CRL-----" not in crl:
            raise ValueError("not a PEM CRL: a revocation list holds CRLs only")
        encoded.append(base64.b64encode(crl).decode())
    return sorted(encoded)


def with_revocation_list(config: dict[str, Any], group: str, msp_id: str, wanted: list[str]) -> bool:
    """Set the revocation_list of member msp_id of the group (Application: a peer organisation; Orderer: an
    orderer organisation) in a decoded channel configuration; False when it holds exactly those CRLs already."""
    organisations = config["channel_group"]["groups"][group]["groups"]
    if msp_id not in organisations:
        raise ValueError(f"{msp_id} is not a member of this channel's {group} group")
    msp = organisations[msp_id]["values"]["MSP"]["value"]["config"]
    if sorted(msp.get("revocation_list") or []) == wanted:
        return False
    msp["revocation_list"] = wanted
    return True


def msp_differences(msp_id: str, group: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    value = group.get("values", {}).get("MSP", {}).get("value", {})
    config = value.get("config") or {}
    if int(value.get("type", 0)) != 0:
        return [f"{msp_id}'s MSP is not an X.509 MSP (type {value.get('type')})"]
    differences = []
    for field, kind in CERTIFICATE_KINDS.items():
        found = certificates([base64.b64decode(entry).decode() for entry in config.get(field) or []])
        wanted = certificates(expected["msp"][field])
        extra, missing = fingerprints(set(found) - set(wanted)), fingerprints(set(wanted) - set(found))
        if extra and missing:
            differences.append(f"{msp_id}'s MSP has {kind} {extra} instead of ours, {missing}")
        elif extra:
            differences.append(f"{msp_id}'s MSP has {kind} {extra} besides ours")
        elif missing:
            differences.append(f"{msp_id}'s MSP lacks our {kind} {missing}")
    return differences


def organisation_differences(
    nouns: tuple[str, str], groups: dict[str, Any], expected: list[dict[str, Any]] | None
) -> list[str]:
    """The organisations of a group (Application or Orderer), by MSP ID: members, MSPs and policies."""
    wanted = {str(org["ID"]): org for org in expected or []}
    found = {}
    differences = []
    for name, group in groups.items():
        msp = group.get("values", {}).get("MSP", {}).get("value", {}).get("config") or {}
        found[str(msp.get("name") or name)] = group
    one, many = nouns
    members = ", ".join(sorted(wanted)) or "none"
    for msp_id in sorted(set(found) - set(wanted)):
        differences.append(f"{msp_id} is {one}, the inventory's {many} are {members}")
    for msp_id in sorted(set(wanted) - set(found)):
        differences.append(f"{msp_id} is not {one}, the inventory's {many} are {members}")
    for msp_id in sorted(set(found) & set(wanted)):
        differences += msp_differences(msp_id, found[msp_id], wanted[msp_id])
        differences += policy_differences(msp_id, found[msp_id].get("policies", {}), wanted[msp_id]["Policies"])
    return differences


def config_differences(channel: str, block: dict[str, Any], spec: dict[str, Any], genesis: bool) -> list[str]:
    """How a decoded configuration block (configtxlator proto_decode --type common.Block) differs from the
    expected spec (load_spec): the channel, the Application group's organisations, their MSPs' certificates
    and their policies, the Application policies and ACLs, the consensus type and the orderer organisations.
    Empty when it matches. `genesis`: the block must be block 0."""
    payload = block["data"]["data"][0]["payload"]
    header = payload["header"]["channel_header"]
    if int(header.get("type", 0)) != CONFIG_HEADER:
        return ["it is no configuration block"]
    differences = []
    if header.get("channel_id") != channel:
        differences.append(f"it is a block of channel {header.get('channel_id')!r}")
    if genesis and int(block["header"].get("number") or 0) != 0:
        differences.append(f"it is block {block['header']['number']}, not block 0")
    groups = payload["data"]["config"]["channel_group"].get("groups", {})
    application, orderer = groups.get("Application", {}), groups.get("Orderer", {})
    differences += organisation_differences(
        ("a member", "members"), application.get("groups", {}), spec["application"]["organisations"]
    )
    differences += policy_differences("Application", application.get("policies", {}), spec["application"]["policies"])
    differences += acl_differences(application, spec["application"].get("acls") or {})
    consensus = orderer.get("values", {}).get("ConsensusType", {}).get("value", {}).get("type")
    if consensus != spec["consensus"]:
        differences.append(f"consensus is {consensus}, the inventory's is {spec['consensus']}")
    orderer_nouns = ("an orderer organisation", "orderer organisations")
    differences += organisation_differences(orderer_nouns, orderer.get("groups", {}), spec["orderer"]["organisations"])
    return differences


def check_config(channel: str, block: dict[str, Any], spec: dict[str, Any], what: str, genesis: bool) -> None:
    """Raise NotTheInventorys, with every difference on one line, unless the block matches the spec."""
    try:
        differences = config_differences(channel, block, spec, genesis)
    except (KeyError, IndexError, TypeError, ValueError) as unreadable:
        differences = [f"it cannot be read as a channel configuration ({type(unreadable).__name__}: {unreadable})"]
    if differences:
        raise NotTheInventorys(f"{channel}: {what} does not match the inventory: {'; '.join(differences)}")


def consensus_type(config: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = config["channel_group"]["groups"]["Orderer"]["values"]["ConsensusType"]["value"]
    value.setdefault("state", "STATE_NORMAL")  # proto3's default, which the JSON may leave out
    return value


def config_sequence(config: dict[str, Any]) -> int:
    """How many updates a decoded channel configuration has seen (proto3's JSON leaves out the first's 0)."""
    return int(config.get("sequence", 0))


def consenter_endpoints(config: dict[str, Any]) -> list[str]:
    """host:port of each Raft consenter of a decoded channel configuration; none for another consensus."""
    value = consensus_type(config)
    if value["type"] != "etcdraft":
        return []
    return [f"{consenter['host']}:{consenter['port']}" for consenter in value["metadata"]["consenters"]]


def with_consenter_certificate(config: dict[str, Any], endpoint: str, certificate_pem: bytes) -> bool:
    """Make certificate_pem the client and server TLS certificate of the Raft consenter at endpoint (host:port)
    in a decoded channel configuration; False when it is that already. A renewed orderer is known to the other
    consenters, and knows itself, by this certificate alone."""
    value = consensus_type(config)
    if value["type"] != "etcdraft":
        raise ValueError(f"the channel's consensus is {value['type']}: it has no Raft consenters")
    host, port = endpoint.rsplit(":", 1)
    consenters = value["metadata"]["consenters"]
    consenter = next((c for c in consenters if c["host"] == host and int(c["port"]) == int(port)), None)
    if consenter is None:
        known = ", ".join(f"{c['host']}:{c['port']}" for c in consenters)
        raise ValueError(f"no consenter at {endpoint} (the consenters are {known})")
    encoded = base64.b64encode(certificate_pem).decode()
    if consenter["client_tls_cert"] == encoded and consenter["server_tls_cert"] == encoded:
        return False
    consenter.update(client_tls_cert=encoded, server_tls_cert=encoded)
    return True


def with_batch_size(config: dict[str, Any], max_message_count: int, preferred_max_bytes: int) -> bool:
    """Set the channel's BatchSize (a block is cut at max_message_count envelopes or once it holds
    preferred_max_bytes) in a decoded channel configuration; False when it is so already. The absolute maximum
    stays: an envelope larger than the preferred size still gets a block of its own."""
    if max_message_count < 1 or preferred_max_bytes < 1:
        raise ValueError(
            f"a batch needs at least 1 message and 1 byte, not {max_message_count} and {preferred_max_bytes}"
        )
    value = config["channel_group"]["groups"]["Orderer"]["values"]["BatchSize"]["value"]
    if preferred_max_bytes > int(value["absolute_max_bytes"]):
        raise ValueError(
            f"a preferred size of {preferred_max_bytes} bytes exceeds the channel's absolute maximum "
            f"({value['absolute_max_bytes']} bytes)"
        )
    wanted = {"max_message_count": max_message_count, "preferred_max_bytes": preferred_max_bytes}
    if all(int(value.get(key, 0)) == number for key, number in wanted.items()):
        return False
    value.update(wanted)
    return True
