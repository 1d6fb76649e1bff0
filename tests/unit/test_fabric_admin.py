"""The admin commands' parts that need no Fabric: the orderer's no-op configuration change (the same duration,
written another way), retries while the ordering service is unavailable, a configuration update it lost
submitted again, revocation lists in a channel's MSP, and the signatures a change to a channel's members needs."""

from __future__ import annotations

import base64
import copy
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from medledger_tools.paths import REPO_ROOT

# The commands' files, installed side by side on each host: the admin command imports the channel module.
ADMIN_FILES = REPO_ROOT / "roles" / "fabric_admin" / "files"


def admin_command() -> ModuleType:
    """A fresh copy of the admin command's module (tests replace its functions)."""
    if str(ADMIN_FILES) not in sys.path:
        sys.path.insert(0, str(ADMIN_FILES))
    spec = importlib.util.spec_from_file_location("medledger_fabric_admin", ADMIN_FILES / "medledger_fabric_admin.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def channel_config_module() -> ModuleType:
    admin_command()
    return importlib.import_module("medledger_channel_config")


@pytest.mark.parametrize(
    ("before", "after"),
    [("2s", "2000ms"), ("2000ms", "2000000us"), ("2000000us", "2000ms"), ("1m", "60s"), ("1h", "60m")],
)
def test_batch_timeout_is_rewritten_in_another_unit(before: str, after: str) -> None:
    assert admin_command().rewritten(before) == after


def test_a_duration_it_cannot_read_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^BatchTimeout '2.5s' is not a whole number of us, ms, s, m or h$"):
        admin_command().rewritten("2.5s")


def test_a_lifecycle_operation_is_tried_again_only_while_the_ordering_service_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = admin_command()
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)
    unavailable = module.CommandFailed("peer lifecycle failed: rpc error: code = Unavailable desc = closing transport")
    outcomes: list[object] = [unavailable, unavailable, "approved"]

    def operation() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    assert module.while_unavailable(operation) == "approved"
    assert outcomes == []
    refused = module.CommandFailed("peer lifecycle failed: chaincode definition not agreed")
    calls: list[int] = []

    def refused_operation() -> str:
        calls.append(1)
        raise refused

    with pytest.raises(module.CommandFailed, match="not agreed"):
        module.while_unavailable(refused_operation)
    assert calls == [1]
    with pytest.raises(module.CommandFailed, match="Unavailable"):
        module.while_unavailable(lambda: (_ for _ in ()).throw(unavailable))


def channel_config(revocation_list: list[str] | None = None) -> dict[str, object]:
    msp_config: dict[str, object] = {"name": "OrgPatientMSP", "root_certs": ["cm9vdA=="]}
    if revocation_list is not None:
        msp_config["revocation_list"] = revocation_list
    msp = {"values": {"MSP": {"value": {"config": msp_config}}}}
    orderer = {"groups": {"OrgOrdererMSP": {"values": {"MSP": {"value": {"config": {"name": "OrgOrdererMSP"}}}}}}}
    return {"channel_group": {"groups": {"Application": {"groups": {"OrgPatientMSP": msp}}, "Orderer": orderer}}}


CRL = b"-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n"


def test_an_organisations_crl_goes_into_its_channel_msp_once() -> None:
    module = channel_config_module()
    wanted = module.channel_revocation_list([CRL])
    config = channel_config()
    assert module.with_revocation_list(config, "Application", "OrgPatientMSP", wanted) is True
    msp = config["channel_group"]["groups"]["Application"]["groups"]["OrgPatientMSP"]["values"]["MSP"]  # type: ignore[index]
    assert msp["value"]["config"]["revocation_list"] == wanted
    assert msp["value"]["config"]["root_certs"] == ["cm9vdA=="]
    assert module.with_revocation_list(config, "Application", "OrgPatientMSP", wanted) is False


def test_an_orderer_organisations_crl_goes_into_the_orderer_group() -> None:
    module = channel_config_module()
    wanted = module.channel_revocation_list([CRL])
    config = channel_config()
    assert module.with_revocation_list(config, "Orderer", "OrgOrdererMSP", wanted) is True
    orderer_msp = config["channel_group"]["groups"]["Orderer"]["groups"]["OrgOrdererMSP"]["values"]["MSP"]  # type: ignore[index]
    assert orderer_msp["value"]["config"]["revocation_list"] == wanted
    assert "revocation_list" not in str(config["channel_group"]["groups"]["Application"])  # type: ignore[index]


def test_a_revocation_list_of_something_else_than_crls_or_for_a_non_member_is_refused() -> None:
    module = channel_config_module()
    with pytest.raises(ValueError, match="not a PEM CRL"):
        module.channel_revocation_list([b"-----BEGIN CERTIFICATE-----\n"])
    with pytest.raises(ValueError, match="OrgThirdPartyMSP is not a member of this channel's Application group"):
        module.with_revocation_list(channel_config(), "Application", "OrgThirdPartyMSP", [])
    with pytest.raises(ValueError, match="OrgPatientMSP is not a member of this channel's Orderer group"):
        module.with_revocation_list(channel_config(), "Orderer", "OrgPatientMSP", [])


def admins_of(members: list[str], rule: str = "MAJORITY") -> dict[str, object]:
    """An Application group with a member per MSP ID, each with an Admins policy signed by its admin."""

    def member(msp_id: str) -> dict[str, object]:
        identity = {"principal": {"msp_identifier": msp_id, "role": "ADMIN"}}
        signature = {
            "type": 1,
            "value": {"identities": [identity], "rule": {"n_out_of": {"n": 1, "rules": [{"signed_by": 0}]}}},
        }
        return {"policies": {"Admins": {"policy": signature}}}

    admins = {"type": 3, "value": {"rule": rule, "sub_policy": "Admins"}}
    application = {"groups": {msp_id: member(msp_id) for msp_id in members}, "policies": {"Admins": {"policy": admins}}}
    return {"channel_group": {"groups": {"Application": application}}}


def test_a_majority_of_two_members_needs_both_admins() -> None:
    module = channel_config_module()
    config = admins_of(["OrgGovernmentMSP", "OrgPatientMSP"])
    assert module.signers_still_needed(config, "Application", set()) == (2, ["OrgGovernmentMSP", "OrgPatientMSP"])
    assert module.signers_still_needed(config, "Application", {"OrgPatientMSP"}) == (1, ["OrgGovernmentMSP"])
    assert module.signers_still_needed(config, "Application", {"OrgPatientMSP", "OrgGovernmentMSP"}) == (0, [])


def test_a_majority_of_three_members_needs_two_and_an_outsider_counts_for_nothing() -> None:
    module = channel_config_module()
    config = admins_of(["OrgGovernmentMSP", "OrgPatientMSP", "OrgThirdPartyMSP"])
    assert module.signers_still_needed(config, "Application", {"OrgNewHospitalMSP"})[0] == 2
    assert module.signers_still_needed(config, "Application", {"OrgThirdPartyMSP"}) == (
        1,
        ["OrgGovernmentMSP", "OrgPatientMSP"],
    )
    assert module.signers_still_needed(config, "Application", {"OrgThirdPartyMSP", "OrgPatientMSP"}) == (0, [])


def test_any_and_all_rules_count_as_fabric_does() -> None:
    module = channel_config_module()
    members = ["AMSP", "BMSP", "CMSP"]
    assert module.signers_still_needed(admins_of(members, "ANY"), "Application", {"BMSP"}) == (0, [])
    assert module.signers_still_needed(admins_of(members, "ALL"), "Application", {"BMSP"}) == (2, ["AMSP", "CMSP"])


def raft_config(consensus: str = "etcdraft") -> dict[str, object]:
    consenters = [
        {"host": f"172.20.29.3{n}", "port": 7050, "client_tls_cert": f"b2xk{n}", "server_tls_cert": f"b2xk{n}"}
        for n in range(3)
    ]
    value = {"type": consensus, "state": "STATE_NORMAL", "metadata": {"consenters": consenters, "options": {}}}
    return {"channel_group": {"groups": {"Orderer": {"values": {"ConsensusType": {"value": value}}}}}}


def test_a_renewed_orderer_certificate_replaces_its_consenters_and_no_other() -> None:
    module = channel_config_module()
    config = raft_config()
    pem = b"-----BEGIN CERTIFICATE-----\nbmV3\n-----END CERTIFICATE-----\n"
    assert module.with_consenter_certificate(config, "172.20.29.31:7050", pem)
    consenters = module.consensus_type(config)["metadata"]["consenters"]
    encoded = base64.b64encode(pem).decode()
    assert [(c["client_tls_cert"], c["server_tls_cert"]) for c in consenters] == [
        ("b2xk0", "b2xk0"),
        (encoded, encoded),
        ("b2xk2", "b2xk2"),
    ]
    assert not module.with_consenter_certificate(config, "172.20.29.31:7050", pem)


def test_a_consenter_that_is_not_there_or_a_kafka_channel_is_refused() -> None:
    module = channel_config_module()
    with pytest.raises(
        ValueError, match=r"no consenter at 172\.20\.29\.39:7050 \(the consenters are 172\.20\.29\.30:7050, "
    ):
        module.with_consenter_certificate(raft_config(), "172.20.29.39:7050", b"pem")
    with pytest.raises(ValueError, match="the channel's consensus is kafka: it has no Raft consenters"):
        module.with_consenter_certificate(raft_config("kafka"), "172.20.29.30:7050", b"pem")


OWN_ORDERER = "172.20.29.30:7050"
UNAVAILABLE = "peer channel failed: Error: can't read the block: &{SERVICE_UNAVAILABLE}"


def raft_channel(state: str = "old", **orderer_values: Any) -> dict[str, Any]:
    """A Raft channel's configuration (consenters 172.20.29.30-32) with a `state` the tests' changes set."""
    config: dict[str, Any] = raft_config()
    config["channel_group"]["groups"]["Orderer"]["values"].update(orderer_values)
    config["state"] = state
    return config


def lossy_ordering_service(module: ModuleType, config: dict[str, Any], losses: int) -> tuple[type, dict[str, Any]]:
    """An admin of the orderer at OWN_ORDERER whose ordering service serves `config`, accepts every update but
    loses the first `losses` of them (a Raft leader that changed before it proposed them). An orderer in
    served["cut_off"] answers SERVICE_UNAVAILABLE once an update is submitted."""
    served: dict[str, Any] = {"config": config, "submitted": 0, "cut_off": set()}

    class LossyAdmin(module.OrdererAdmin):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            """Settings naming its orderer only: nothing here reaches a host."""
            self.settings = {"orderer": OWN_ORDERER}

        def current_config(self, channel: str, orderer: str | None = None) -> dict[str, Any]:
            if served["submitted"] and (orderer or OWN_ORDERER) in served["cut_off"]:
                raise module.CommandFailed(UNAVAILABLE)
            return copy.deepcopy(served["config"])

        def write_update(self, channel: str, change: Callable[[dict[str, Any]], bool], target: Path) -> bool:
            self.pending = self.current_config(channel)
            return bool(change(self.pending))

        def submit(self, channel: str, envelope: Path) -> None:
            served["submitted"] += 1
            if served["submitted"] > losses:
                served["config"] = self.pending

    return LossyAdmin, served


def freeze_clock(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> ModuleType:
    """The admin command's module with a clock that moves on 7 s per look, and sleeps that return at once."""
    clock = iter(range(0, 10_000, 7))
    monkeypatch.setattr(module.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)
    return module


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return freeze_clock(monkeypatch, admin_command())


def to_new(config: dict[str, Any]) -> bool:
    if config["state"] == "new":
        return False
    config["state"] = "new"
    return True


@pytest.mark.parametrize("losses", [0, 1, 3])
def test_a_configuration_update_the_ordering_service_lost_is_submitted_again(
    frozen_time: ModuleType, losses: int
) -> None:
    admin_class, served = lossy_ordering_service(frozen_time, raft_channel(), losses)
    assert admin_class().update_config("patientchannel", to_new)
    assert served["config"]["state"] == "new" and served["submitted"] == losses + 1
    assert not admin_class().update_config("patientchannel", to_new), "an update already ordered is not submitted"
    assert served["submitted"] == losses + 1


def test_an_update_never_ordered_fails_after_the_last_submission(frozen_time: ModuleType) -> None:
    admin_class, served = lossy_ordering_service(frozen_time, raft_channel(), losses=frozen_time.UPDATE_SUBMISSIONS)
    with pytest.raises(
        frozen_time.CommandFailed, match=r"^patientchannel: submitted 4 times, the update was never ordered$"
    ):
        admin_class().update_config("patientchannel", to_new)
    assert served["config"]["state"] == "old" and served["submitted"] == 4


def test_a_touch_submitted_again_writes_the_same_timeout_not_the_next_one(frozen_time: ModuleType) -> None:
    admin_class, served = lossy_ordering_service(
        frozen_time, raft_channel(BatchTimeout={"value": {"timeout": "2s"}}), 1
    )
    assert admin_class().touch_config("patientchannel") == "2000ms"
    assert served["submitted"] == 2
    assert served["config"]["channel_group"]["groups"]["Orderer"]["values"]["BatchTimeout"]["value"] == {
        "timeout": "2000ms"
    }


def test_an_orderer_cut_off_by_the_update_it_applied_leaves_the_answer_to_the_other_consenters(
    frozen_time: ModuleType,
) -> None:
    admin_class, served = lossy_ordering_service(frozen_time, raft_channel(), losses=0)
    served["cut_off"].add(OWN_ORDERER)
    assert admin_class().update_config("patientchannel", to_new)
    assert served["submitted"] == 1, "ordered, as another consenter says: not submitted again"


def test_an_update_no_orderer_can_show_is_submitted_again_and_fails_at_the_last(frozen_time: ModuleType) -> None:
    admin_class, served = lossy_ordering_service(frozen_time, raft_channel(), losses=0)
    served["cut_off"].update(f"172.20.29.3{n}:7050" for n in range(3))
    with pytest.raises(frozen_time.CommandFailed, match="SERVICE_UNAVAILABLE"):
        admin_class().update_config("patientchannel", to_new)
    assert served["submitted"] == 1, "computing the update again needs the admin's orderer, which refuses"


def batch_config(count: int = 100, preferred: int = 524288) -> dict[str, Any]:
    size = {"max_message_count": count, "absolute_max_bytes": 103809024, "preferred_max_bytes": preferred}
    return {"channel_group": {"groups": {"Orderer": {"values": {"BatchSize": {"value": size}}}}}}


def test_a_batch_size_is_set_once_and_keeps_the_absolute_maximum() -> None:
    module = channel_config_module()
    config = batch_config()
    assert module.with_batch_size(config, 30, 524288)
    assert config == batch_config(30)
    assert not module.with_batch_size(config, 30, 524288)


@pytest.mark.parametrize(
    ("count", "preferred", "refusal"),
    [
        (0, 524288, "a batch needs at least 1 message and 1 byte, not 0 and 524288"),
        (10, 200_000_000, "a preferred size of 200000000 bytes exceeds the channel's absolute maximum"),
    ],
)
def test_a_batch_size_fabric_would_refuse_is_refused(count: int, preferred: int, refusal: str) -> None:
    config = batch_config()
    with pytest.raises(ValueError, match=refusal):
        channel_config_module().with_batch_size(config, count, preferred)
    assert config == batch_config()


def signed_update_service(module: ModuleType, losses: int, refusals: int = 0) -> tuple[type, dict[str, Any]]:
    """A peer admin submitting an update the other members signed to an ordering service that refuses the first
    `refusals` submissions as unavailable (a Raft channel between leaders) and loses the next `losses`; each one
    ordered moves the channel's configuration to its next sequence."""
    served: dict[str, Any] = {"config": {**raft_channel(), "sequence": "4"}, "submitted": 0}

    class SubmittingAdmin(module.PeerAdmin):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            """Settings naming its orderer and organisation only: nothing here reaches a host."""
            self.settings = {"orderer": OWN_ORDERER, "msp_id": "OrgPatientMSP"}

        def current_config(self, channel: str, orderer: str | None = None) -> dict[str, Any]:
            return copy.deepcopy(served["config"])

        def signed_by(self, envelope: Path) -> set[str]:
            return {"OrgGovernmentMSP"}

        def require_signers(self, channel: str, config: dict[str, Any], signed: set[str]) -> None:
            served["signers"] = signed

        def submit(self, channel: str, envelope: Path) -> None:
            served["submitted"] += 1
            if served["submitted"] <= refusals:
                raise module.CommandFailed("peer channel failed: got unexpected status: SERVICE_UNAVAILABLE")
            if served["submitted"] > refusals + losses:
                served["config"]["sequence"] = str(int(served["config"]["sequence"]) + 1)

    return SubmittingAdmin, served


@pytest.mark.parametrize("losses", [0, 2])
def test_a_signed_update_counts_as_submitted_once_ordered_and_a_lost_one_goes_again(
    frozen_time: ModuleType, losses: int
) -> None:
    admin_class, served = signed_update_service(frozen_time, losses)
    assert admin_class().submit_update("datausagechannel", "update.pb") == "updated"
    assert served["submitted"] == losses + 1 and served["config"]["sequence"] == "5"
    assert served["signers"] == {"OrgGovernmentMSP", "OrgPatientMSP"}


def test_a_signed_update_the_ordering_service_was_unavailable_for_goes_again(frozen_time: ModuleType) -> None:
    """An orderer that just restarted (as the renewal's last one, before the migration stage's onboarding) leaves a
    Raft channel without a leader for a moment: the first submissions are refused as unavailable, taking nothing."""
    admin_class, served = signed_update_service(frozen_time, losses=0, refusals=2)
    assert admin_class().submit_update("datausagechannel", "update.pb") == "updated"
    assert served["submitted"] == 3 and served["config"]["sequence"] == "5"


def test_a_signed_update_never_ordered_fails_after_the_last_submission(frozen_time: ModuleType) -> None:
    admin_class, served = signed_update_service(frozen_time, losses=frozen_time.UPDATE_SUBMISSIONS)
    with pytest.raises(frozen_time.CommandFailed, match=r"^datausagechannel: submitted 4 times, the update was never"):
        admin_class().submit_update("datausagechannel", "update.pb")
    assert served["config"]["sequence"] == "4"


@pytest.mark.parametrize(("behind", "grown"), [(0, True), (2, True), (10, False)])
def test_a_joining_peer_waits_a_bounded_time_for_its_orderer_to_serve_the_grown_channel(
    frozen_time: ModuleType, tmp_path: Path, behind: int, grown: bool
) -> None:
    """The update adding the organisation is ordered, but the joining peer's orderer (a Raft follower) serves
    the configuration before it for `behind` more looks."""
    block = tmp_path / "datausagechannel.block"
    block.write_bytes(b"block 0")
    looks = {"count": 0}

    class JoiningAdmin(frozen_time.PeerAdmin):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            """No settings: nothing here reaches a host."""

        def genesis(self, channel: str, target: str) -> None:
            Path(target).write_bytes(block.read_bytes())

        def check_current(self, channel: str, expected: dict[str, Any]) -> None:
            looks["count"] += 1
            if looks["count"] <= behind:
                raise frozen_time.NotTheInventorys("OrgHospital2MSP is not a member")

    assert JoiningAdmin().grown_since("datausagechannel", str(block), {}) is grown
    assert looks["count"] == (behind + 1 if grown else 3), "bounded by ORDERED_WITHIN (20 s), a look every 7 s"
