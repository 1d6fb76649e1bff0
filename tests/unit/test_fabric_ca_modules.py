"""medledger_fabric_register and medledger_fabric_enroll, run as Ansible runs them, against a fake
fabric-ca-client that records what it was given: secrets reach it through its environment, never its
command line; enrolment bounds are set and corrected; private keys are 0600."""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from medledger_tools.paths import REPO_ROOT

MODULES = REPO_ROOT / "plugins" / "modules"
FAKE = Path(__file__).with_name("fake_fabric_ca_client.py")
SECRET = "s3cret-Of-peer1"  # noqa: S105 - a test value
ME = pwd.getpwuid(os.getuid()).pw_name


@dataclass
class FakeCA:
    state: Path
    client: Path

    def calls(self) -> list[dict[str, Any]]:
        lines = (self.state / "calls.jsonl").read_text().splitlines() if (self.state / "calls.jsonl").exists() else []
        return [json.loads(line) for line in lines]

    def commands(self) -> list[str]:
        """The subcommand of each call, e.g. 'identity list', 'register', 'enroll'."""
        return [" ".join(call["argv"][: 2 if call["argv"][0] == "identity" else 1]) for call in self.calls()]

    def identities(self) -> dict[str, dict[str, Any]]:
        return dict(json.loads((self.state / "registry.json").read_text())["identities"])

    def preregister(self, name: str, bound: int, secret: str = SECRET, state: int = 0) -> None:
        registry = {"identities": {name: {"type": "peer", "affiliation": "orgtest", "max": bound, "secret": secret}}}
        registry["identities"][name]["state"] = state
        (self.state / "registry.json").write_text(json.dumps(registry))


@pytest.fixture
def ca(tmp_path: Path) -> FakeCA:
    state = tmp_path / "ca"
    state.mkdir()
    client = tmp_path / "bin" / "fabric-ca-client"
    client.parent.mkdir()
    client.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "{state}" "$@"\n')
    client.chmod(0o755)
    return FakeCA(state, client)


def run(module: str, arguments: dict[str, Any], work: Path) -> dict[str, Any]:
    """The module's result, run as Ansible runs it (its arguments in a file, not on its command line)."""
    work.mkdir(exist_ok=True)
    number = len(list(work.glob("args-*.json")))
    arguments_file = work / f"args-{number}.json"
    arguments_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": arguments}))
    result = subprocess.run(
        [sys.executable, str(MODULES / f"{module}.py"), str(arguments_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(json.loads(result.stdout))


def register(ca: FakeCA, tmp_path: Path, bound: int, secret: str = SECRET) -> dict[str, Any]:
    arguments = {
        "name": "peer1",
        "secret": secret,
        "type": "peer",
        "affiliation": "orgtest",
        "max_enrollments": bound,
        "ca_address": "127.0.0.1:7054",
        "ca_name": "ca-orgtest",
        "tls_root": str(tmp_path / "tls-root.pem"),
        "registrar_home": str(tmp_path / "registrar"),
        "client": str(ca.client),
    }
    return run("medledger_fabric_register", arguments, tmp_path / "runs")


def enroll(ca: FakeCA, tmp_path: Path, path: Path, *, kind: str = "msp", **extra: Any) -> dict[str, Any]:
    arguments = {
        "name": "peer1",
        "secret": SECRET,
        "ca_address": "172.20.29.33:7054",
        "ca_name": "ca-orgtest" if kind == "msp" else "tlsca-ca1",
        "tls_root": str(tmp_path / "tls-root.pem"),
        "path": str(path),
        "kind": kind,
        "csr_hosts": ["peer1", "127.0.0.1"],
        "organisation": "OrgTest",
        "client": str(ca.client),
        "owner": ME,
        **extra,
    }
    return run("medledger_fabric_enroll", arguments, tmp_path / "runs")


def no_secret_on_any_command_line(ca: FakeCA, secret: str = SECRET) -> None:
    for call in ca.calls():
        assert not any(secret in arg for arg in call["argv"]), call["argv"]
        assert "--id.secret" not in call["argv"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_registration_gives_the_secret_through_the_environment_only(ca: FakeCA, tmp_path: Path) -> None:
    result = register(ca, tmp_path, bound=3)

    assert (result["changed"], result["registered"], result["max_enrollments"]) == (True, True, 3), result
    assert ca.commands() == ["identity list", "register"]
    no_secret_on_any_command_line(ca)
    registration = ca.calls()[1]
    assert registration["env"] == {"FABRIC_CA_CLIENT_ID_SECRET": SECRET}
    assert registration["argv"][registration["argv"].index("--id.maxenrollments") + 1] == "3"
    assert ca.identities()["peer1"]["secret"] == SECRET  # it reached the client all the same
    assert ca.calls()[0]["env"] == {}, "the query needs no secret"


def test_an_identity_registered_with_another_bound_gets_this_one(ca: FakeCA, tmp_path: Path) -> None:
    ca.preregister("peer1", bound=-1)  # as Fabric CA's default registered everyone before

    corrected = register(ca, tmp_path, bound=2)
    assert (corrected["changed"], corrected["registered"]) == (True, False), corrected
    assert (corrected["max_enrollments"], corrected["previous_max_enrollments"]) == (2, -1)
    modify = ca.calls()[-1]["argv"]
    assert modify[:3] == ["identity", "modify", "peer1"]
    assert modify[modify.index("--maxenrollments") + 1] == "2"
    assert ca.identities()["peer1"]["max"] == 2
    no_secret_on_any_command_line(ca)

    again = register(ca, tmp_path, bound=2)
    assert (again["changed"], again["registered"]) == (False, False), again
    assert ca.commands()[-1] == "identity list", "nothing to correct"


def test_a_bound_below_one_is_refused_before_the_ca_is_asked(ca: FakeCA, tmp_path: Path) -> None:
    result = register(ca, tmp_path, bound=0)
    assert result.get("failed"), result
    assert "max_enrollments must be at least 1" in result["msg"]
    assert ca.calls() == []


def test_enrolment_gives_the_secret_through_the_environment_only(ca: FakeCA, tmp_path: Path) -> None:
    register(ca, tmp_path, bound=1)
    msp = tmp_path / "fabric" / "peer1" / "msp"

    result = enroll(ca, tmp_path, msp)

    assert result["changed"] and not result.get("failed"), result
    no_secret_on_any_command_line(ca)
    enrolment = ca.calls()[-1]
    assert enrolment["argv"][0] == "enroll"
    assert "-u" not in enrolment["argv"] and "--url" not in enrolment["argv"], "a URL flag would override"
    assert enrolment["env"] == {"FABRIC_CA_CLIENT_URL": f"https://peer1:{SECRET}@172.20.29.33:7054"}
    assert sorted(path.name for path in msp.iterdir()) == [
        "cacerts",
        "config.yaml",
        "intermediatecerts",
        "keystore",
        "signcerts",
    ]
    assert mode(msp / "keystore" / "key.pem") == 0o600
    assert mode(msp / "signcerts" / "cert.pem") == 0o644


def test_a_secret_with_url_characters_reaches_the_client_intact(ca: FakeCA, tmp_path: Path) -> None:
    awkward = "p@ss:w/rd%2F?#&"
    register(ca, tmp_path, bound=1, secret=awkward)
    result = run(
        "medledger_fabric_enroll",
        {
            "name": "peer1",
            "secret": awkward,
            "ca_address": "172.20.29.33:7054",
            "ca_name": "ca-orgtest",
            "tls_root": str(tmp_path / "tls-root.pem"),
            "path": str(tmp_path / "msp"),
            "organisation": "OrgTest",
            "client": str(ca.client),
            "owner": ME,
        },
        tmp_path / "runs",
    )
    assert result["changed"] and not result.get("failed"), result
    assert ca.identities()["peer1"]["state"] == 1
    no_secret_on_any_command_line(ca, awkward)


def test_an_enrolment_beyond_the_bound_fails_and_rotation_needs_no_secret(ca: FakeCA, tmp_path: Path) -> None:
    register(ca, tmp_path, bound=1)
    tls = tmp_path / "host-a" / "peer1" / "tls"
    assert enroll(ca, tmp_path, tls, kind="tls")["changed"]

    second = enroll(ca, tmp_path, tmp_path / "host-b" / "peer1" / "tls", kind="tls")
    assert second.get("failed"), second
    assert "peer1: enrolment at 172.20.29.33:7054 (tlsca-ca1) failed: " in second["msg"]
    assert "Authentication failure" in second["msg"]
    assert SECRET not in json.dumps(second), "the client's error names the secret; the module's must not"
    assert not (tmp_path / "host-b" / "peer1").exists(), "no half-written folder"

    old_key = (tls / "server.key").read_bytes()
    (tls / "server.key").chmod(0o644)  # left loose by someone: the new key must not inherit it
    rotated = enroll(ca, tmp_path, tls, kind="tls", secret=None, rotate=True)
    assert rotated["changed"] and not rotated.get("failed"), rotated
    reenrolment = ca.calls()[-1]
    assert reenrolment["argv"][0] == "reenroll"
    assert reenrolment["env"] == {}, "re-enrolment authenticates with the current certificate"
    assert ca.identities()["peer1"]["state"] == 1, "and does not spend the secret"
    assert (tls / "server.key").read_bytes() != old_key
    assert sorted(path.name for path in tls.iterdir()) == ["ca.crt", "server.crt", "server.key"]
    assert mode(tls / "server.key") == 0o600
    assert sorted(path.name for path in tls.parent.iterdir()) == ["tls"], "the old folder (and key) is gone"
    no_secret_on_any_command_line(ca)


def test_a_certificate_is_renewed_only_when_it_expires_within_the_days_given(ca: FakeCA, tmp_path: Path) -> None:
    """The fake CA's certificates last an hour: not due within 0 days, due within 1."""
    register(ca, tmp_path, bound=1)
    msp = tmp_path / "host-a" / "peer1" / "msp"
    assert enroll(ca, tmp_path, msp)["changed"]
    old_key = (msp / "keystore" / "key.pem").read_bytes()
    kept = enroll(ca, tmp_path, msp, secret=None, renew_within_days=0)
    assert not kept["changed"] and not kept.get("failed"), kept
    renewed = enroll(ca, tmp_path, msp, secret=None, renew_within_days=1)
    assert renewed["changed"] and not renewed.get("failed"), renewed
    assert ca.calls()[-1]["argv"][0] == "reenroll"
    assert (msp / "keystore" / "key.pem").read_bytes() != old_key
    assert renewed["serial"] != kept["serial"]
    assert ca.identities()["peer1"]["state"] == 1, "renewal does not spend the enrolment secret"


def enroll_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("medledger_fabric_enroll", MODULES / "medledger_fabric_enroll.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_key_written_over_a_loose_file_is_0600(tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_bytes(b"an older, longer key that was readable by everyone\n")
    key.chmod(0o644)

    enroll_module().write_private(str(key), b"new key\n")

    assert mode(key) == 0o600
    assert key.read_bytes() == b"new key\n"
    enroll_module().write_private(str(tmp_path / "new.key"), b"k")
    assert mode(tmp_path / "new.key") == 0o600


def test_a_key_is_not_written_through_a_symbolic_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("untouched")
    (tmp_path / "server.key").symlink_to(elsewhere)
    with pytest.raises(OSError):
        enroll_module().write_private(str(tmp_path / "server.key"), b"key")
    assert elsewhere.read_text() == "untouched"
