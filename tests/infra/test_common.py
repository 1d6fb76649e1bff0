"""The common role on every host: reachable, users, directories, time, firewall, verified artifacts."""

from __future__ import annotations

import errno
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from .conftest import deployed, for_groups, groups_of, probe_from, role_var

pytestmark = pytest.mark.lab

CONTROL_NODE = "control node"  # a probe source: the machine the tests run on


def test_host_is_reachable_debian_12(host: Any) -> None:
    assert host.system_info.distribution == "debian"
    assert host.system_info.release.startswith("12")


def test_service_users_exist_without_login(host: Any, inventory_host: str) -> None:
    users = for_groups(role_var("common", "common_group_service_users", inventory_host), inventory_host)
    assert users, f"{inventory_host} runs no service"
    state_dir = role_var("common", "common_state_dir", inventory_host)
    for name in users:
        user = host.user(name)
        assert user.exists
        assert user.shell == "/usr/sbin/nologin"
        home = host.file(f"{state_dir}/{name}")
        assert home.is_directory and home.user == name and home.mode == 0o750


def test_directories(host: Any, inventory_host: str) -> None:
    for name in ("common_install_dir", "common_config_dir", "common_state_dir", "common_artifact_cache_dir"):
        directory = host.file(role_var("common", name, inventory_host))
        assert directory.is_directory and directory.user == "root" and directory.mode == 0o755


def test_chrony_enabled_with_the_configured_servers(host: Any, inventory_host: str) -> None:
    assert host.service("chrony").is_enabled
    servers = role_var("common", "common_ntp_servers", inventory_host)
    configured = [
        line.split()[1]
        for line in host.file("/etc/chrony/chrony.conf").content_string.splitlines()
        if line.startswith("server ")
    ]
    assert configured == servers


def expected_ports(inventory_host: str) -> list[int]:
    ports = for_groups(role_var("common", "common_firewall_group_ports", inventory_host), inventory_host)
    return sorted({int(role_var("common", "common_firewall_ssh_port", inventory_host)), *ports})


def test_firewall_opens_only_the_groups_ports(host: Any, inventory_host: str) -> None:
    assert host.service("nftables").is_enabled
    ruleset = host.check_output("nft -j list table inet medledger")
    accepted: set[int] = set()
    for item in json.loads(ruleset)["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            right = expr.get("match", {}).get("right")
            if expr.get("match", {}).get("left", {}).get("payload", {}).get("field") == "dport":
                values = right["set"] if isinstance(right, dict) and "set" in right else [right]
                accepted |= {int(v) for v in values}
    assert sorted(accepted) == expected_ports(inventory_host)


def probe(address: str, port: int) -> str:
    """'open', 'closed' (refused: the firewall let it through) or 'filtered' (dropped)."""
    try:
        with socket.create_connection((address, port), timeout=2):
            return "open"
    except ConnectionRefusedError:
        return "closed"
    except TimeoutError:
        return "filtered"
    except OSError as error:
        if error.errno == errno.EHOSTUNREACH:
            return "filtered"
        raise


def restricted_ports(inventory_host: str) -> dict[int, list[str]]:
    """The host's ports that the firewall opens only to the hosts of some groups, with those hosts."""
    sources = role_var("common", "common_firewall_port_sources", inventory_host)
    return {
        int(port): sorted({member for group in groups for member in deployed().members(group)})
        for port, groups in sources.items()
        if int(port) in expected_ports(inventory_host)
    }


def test_firewall_drops_other_ports_and_passes_its_own(inventory_host: str, address: str) -> None:
    ports = [port for port in expected_ports(inventory_host) if port not in restricted_ports(inventory_host)]
    every_group = role_var("common", "common_firewall_group_ports", inventory_host).values()
    # From the control node, which is none of the hosts a restricted port is open to.
    others = [*sorted({int(port) for group_ports in every_group for port in group_ports} - set(ports)), 9999]
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = dict(zip(ports + others, pool.map(lambda port: probe(address, port), ports + others), strict=True))
    assert seen[22] == "open"
    assert {port: seen[port] for port in ports if seen[port] == "filtered"} == {}, "these should pass"
    assert {port: seen[port] for port in others if seen[port] != "filtered"} == {}, "these should be dropped"


def test_restricted_ports_pass_only_the_hosts_that_need_them(inventory_host: str, address: str) -> None:
    restricted = restricted_ports(inventory_host)
    if not restricted:
        pytest.skip(f"{inventory_host} opens no port to some hosts only")
    expected: dict[tuple[int, str], set[str]] = {}
    for port, sources in restricted.items():
        # A host reaching its own address goes through loopback, which the firewall passes: ask another.
        allowed = next(source for source in sources if source != inventory_host)
        expected[port, allowed] = {"open", "closed"}
        # Another inventory host outside the sources when there is one (for 7050 every host runs a peer),
        # and always the control node, which is none of them.
        refused = next((other for other in deployed().hosts if other not in sources), None)
        if refused is not None:
            expected[port, refused] = {"filtered"}
        expected[port, CONTROL_NODE] = {"filtered"}

    def attempt(case: tuple[int, str]) -> str:
        port, source = case
        return probe(address, port) if source == CONTROL_NODE else probe_from(source, address, port)

    # All at once: a dropped connection waits out its timeout, and most of these are dropped.
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = dict(zip(expected, pool.map(attempt, expected), strict=True))
    assert {case: outcome for case, outcome in seen.items() if outcome not in expected[case]} == {}, seen


def test_only_expected_ports_listen(host: Any, inventory_host: str) -> None:
    listening: set[int] = set()
    for spec in host.socket.get_listening_sockets():
        if not spec.startswith("tcp"):
            continue
        _, rest = spec.split("://", 1)
        bind, port = rest.rsplit(":", 1)
        if bind not in ("127.0.0.1", "::1", "[::1]") and not bind.startswith("127."):
            listening.add(int(port))
    # The orderers' admin API listens on the host's address, closed to the network by the firewall.
    host_only = {int(role_var("fabric_orderer", "fabric_orderer_admin_port", inventory_host))}
    if inventory_host not in deployed().members("orderers"):
        host_only = set()
    assert listening <= set(expected_ports(inventory_host)) | host_only


def test_artifacts_match_the_manifest(host: Any, inventory_host: str, manifest: dict[str, Any]) -> None:
    install_dir = role_var("common", "common_install_dir", inventory_host)
    names = for_groups(role_var("common", "common_group_artifacts", inventory_host), inventory_host)
    assert names, f"{inventory_host} ({', '.join(groups_of(inventory_host))}) needs no artifact"
    for name in names:
        entry = manifest["artifacts"][name]
        listing = host.check_output(
            f"cd {install_dir}/{entry['root']} && find . -type f ! -name .medledger-sha256 -print0 | xargs -0 sha256sum"
        )
        installed = {
            path.removeprefix("./"): digest for digest, path in (line.split(None, 1) for line in listing.splitlines())
        }
        assert installed == entry["files"]
        assert host.file(f"{install_dir}/{name}").linked_to == f"{install_dir}/{entry['root']}"
        if not entry["version_check"]:  # the services' wheels: nothing to run, the version is our wheel's
            assert f"wheels/medledger-{entry['version']}-py3-none-any.whl" in installed
            continue
        command = " ".join([f"{install_dir}/{name}/{entry['version_check'][0]}", *entry["version_check"][1:]])
        assert entry["version"] in host.check_output(command)
