"""The lab-up check (labsafety.assert_lab_up), its Ansible action plugin and `medledger-lab check`.

Every case runs against fakes or against a Docker socket path that does not exist, so the result is the
same whether this machine runs an engine, and whether the lab is up or down.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from medledger_tools import lab, labsafety
from medledger_tools.labsafety import LabNotUpError, NotLabTargetError, assert_lab_up
from medledger_tools.paths import REPO_ROOT

from .test_labsafety import BrokenClient, FakeClient, lab_client, lab_container

PAPER = {f"vm{n}": f"172.20.29.{n}" for n in range(30, 37)}


def full_lab() -> FakeClient:
    return lab_client(*(lab_container(host, address) for host, address in PAPER.items()))


def lab_without(host: str) -> FakeClient:
    return lab_client(*(lab_container(name, address) for name, address in PAPER.items() if name != host))


@pytest.fixture(autouse=True)
def _no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No cached answers, and no real engine: a client the test does not bring finds no socket."""
    monkeypatch.setenv(labsafety.DOCKER_SOCKET_ENV, str(tmp_path / "no-docker.sock"))
    labsafety.clear_cache()
    yield
    labsafety.clear_cache()


def use_engine(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    """Make the default client (the one the plugin and the CLI use) this fake."""
    monkeypatch.setattr(labsafety, "_default_client", lambda: client)


# --- the check ------------------------------------------------------------------------------------


def test_every_host_running_passes() -> None:
    assert_lab_up(PAPER, full_lab())


def test_one_missing_host_is_named() -> None:
    with pytest.raises(LabNotUpError) as refused:
        assert_lab_up(PAPER, lab_without("vm33"))
    assert str(refused.value) == "lab is not up: vm33 (172.20.29.33) is not a running lab container; run make lab-up"


def test_the_first_missing_host_is_named() -> None:
    client = lab_client(lab_container("vm30", "172.20.29.30"))
    with pytest.raises(LabNotUpError, match=r"^lab is not up: vm31 \(172\.20\.29\.31\) is not a running"):
        assert_lab_up(PAPER, client)


def test_stopped_container_counts_as_down() -> None:
    client = full_lab()
    client.containers.items[2].status = "exited"
    with pytest.raises(LabNotUpError, match=r"^lab is not up: vm32 \(172\.20\.29\.32\)"):
        assert_lab_up(PAPER, client)


def test_an_address_outside_the_lab_is_refused_though_every_container_runs() -> None:
    with pytest.raises(LabNotUpError, match=r"^lab is not up: vm36 \(192\.0\.2\.36\) is not a running lab container"):
        assert_lab_up({**PAPER, "vm36": "192.0.2.36"}, full_lab())


def test_unreachable_engine_is_a_refusal() -> None:
    with pytest.raises(LabNotUpError) as refused:
        assert_lab_up(PAPER, BrokenClient())
    assert str(refused.value) == (
        "lab is not up: vm30 (172.20.29.30) is not a running lab container "
        f"(no Docker engine answers at {labsafety.docker_socket()}: ConnectionError); run make lab-up"
    )


def test_absent_docker_socket_is_a_refusal_not_a_traceback(tmp_path: Path) -> None:
    # The real docker-py client, pointed (by the fixture) at a socket that does not exist.
    with pytest.raises(LabNotUpError) as refused:
        assert_lab_up(PAPER)
    assert str(refused.value) == (
        "lab is not up: vm30 (172.20.29.30) is not a running lab container "
        f"(no Docker engine answers at {tmp_path / 'no-docker.sock'}: DockerException); run make lab-up"
    )


def test_a_host_without_address_is_refused() -> None:
    with pytest.raises(LabNotUpError, match=r"^lab check: vm31 has no ansible_host"):
        assert_lab_up({**PAPER, "vm31": ""}, full_lab())


def test_the_refusal_is_a_safety_refusal() -> None:
    assert issubclass(LabNotUpError, NotLabTargetError)


def test_socket_defaults_to_the_local_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(labsafety.DOCKER_SOCKET_ENV)
    assert labsafety.docker_socket() == "/var/run/docker.sock"


# --- the action plugin ----------------------------------------------------------------------------


def load_plugin() -> ModuleType:
    path = REPO_ROOT / "plugins" / "action" / "medledger_lab_check.py"
    spec = importlib.util.spec_from_file_location("medledger_lab_check_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_plugin(hosts: dict[str, str], *, check_mode: bool = False) -> dict[str, Any]:
    task = SimpleNamespace(async_val=0, check_mode=check_mode, args={}, action="medledger_lab_check")
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent"))
    action = load_plugin().ActionModule(task, connection, None, None, None)
    task_vars = {
        "hostvars": {host: {"ansible_host": address} for host, address in hosts.items()},
        "groups": {"all": list(hosts), "ungrouped": []},
    }
    result: dict[str, Any] = action.run(task_vars=task_vars)
    return result


@pytest.mark.parametrize("check_mode", [False, True])
def test_plugin_passes_when_the_lab_is_up(monkeypatch: pytest.MonkeyPatch, check_mode: bool) -> None:
    use_engine(monkeypatch, full_lab())
    result = run_plugin(PAPER, check_mode=check_mode)
    assert not result.get("failed")
    assert result["changed"] is False
    assert result["hosts"] == PAPER
    assert result["msg"] == "lab is up: 7 hosts are running lab containers"


def test_plugin_fails_naming_the_missing_host(monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, lab_without("vm35"))
    result = run_plugin(PAPER)
    assert result["failed"] is True
    assert result["msg"] == "lab is not up: vm35 (172.20.29.35) is not a running lab container; run make lab-up"


def test_plugin_fails_when_docker_is_absent(tmp_path: Path) -> None:
    result = run_plugin(PAPER)
    assert result["failed"] is True
    assert result["msg"] == (
        "lab is not up: vm30 (172.20.29.30) is not a running lab container "
        f"(no Docker engine answers at {tmp_path / 'no-docker.sock'}: DockerException); run make lab-up"
    )


def test_plugin_documents_itself() -> None:
    plugin = load_plugin()
    assert "module: medledger_lab_check" in plugin.DOCUMENTATION
    assert "medledger_lab_check:" in plugin.EXAMPLES
    assert "hosts:" in plugin.RETURN
    assert plugin.ActionModule._supports_check_mode is True
    assert plugin.ActionModule._requires_connection is False


# --- medledger-lab check --------------------------------------------------------------------------


@pytest.fixture
def inventories_read(monkeypatch: pytest.MonkeyPatch) -> list[list[Path]]:
    calls: list[list[Path]] = []

    def read_inventory(inventories: list[Path], _root: Path) -> dict[str, str]:
        calls.append(list(inventories))
        return dict(PAPER)

    monkeypatch.setattr(lab, "read_inventory", read_inventory)
    return calls


def test_cli_exits_0_when_the_lab_is_up(
    monkeypatch: pytest.MonkeyPatch, inventories_read: list[list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    use_engine(monkeypatch, full_lab())
    assert lab.main(["check"]) == 0
    assert capsys.readouterr().out == "lab is up: 7 hosts are running lab containers\n"


def test_cli_exits_2_with_one_line_when_a_host_is_missing(
    monkeypatch: pytest.MonkeyPatch, inventories_read: list[list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    use_engine(monkeypatch, lab_without("vm30"))
    assert lab.main(["check"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "medledger-lab: error: lab is not up: vm30 (172.20.29.30) is not a running lab container; run make lab-up\n"
    )


def test_cli_exits_2_when_docker_is_absent(
    tmp_path: Path, inventories_read: list[list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert lab.main(["check"]) == 2
    assert capsys.readouterr().err == (
        "medledger-lab: error: lab is not up: vm30 (172.20.29.30) is not a running lab container "
        f"(no Docker engine answers at {tmp_path / 'no-docker.sock'}: DockerException); run make lab-up\n"
    )


def test_cli_reads_the_inventory_ansible_uses(
    monkeypatch: pytest.MonkeyPatch, inventories_read: list[list[Path]], tmp_path: Path
) -> None:
    use_engine(monkeypatch, full_lab())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANSIBLE_INVENTORY", raising=False)
    assert lab.main(["check"]) == 0
    monkeypatch.setenv("ANSIBLE_INVENTORY", "inventories/paper,inventories/lab,/srv/raft")
    assert lab.main(["check"]) == 0
    assert lab.main(["check", "--inventory", "mine"]) == 0
    assert inventories_read == [
        [REPO_ROOT / "inventories" / "paper"],
        [tmp_path / "inventories" / "paper", tmp_path / "inventories" / "lab", Path("/srv/raft")],
        [Path("mine")],
    ]
