"""testinfra through the Ansible inventory: the same tests verify the lab and real VMs.

The inventory is ansible.cfg's (the lab) unless ANSIBLE_INVENTORY names another. Before any traffic,
every target must be a lab container or loopback; an operator testing real VMs says so explicitly with
MEDLEDGER_REAL_HOSTS=1.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pytest
import testinfra
import yaml

from medledger_tools import lab_clients, topology
from medledger_tools.lab_clients import check_target
from medledger_tools.paths import REPO_ROOT

# Ansible's default control_path_dir, where ansible.cfg's control_path puts the SSH master connections.
CONTROL_PATH_DIR = Path.home() / ".ansible" / "cp"
RENDERER = jinja2.Environment(undefined=jinja2.StrictUndefined)  # noqa: S701 - paths, not HTML


def inventory_paths() -> list[str]:
    """The inventories the tests run against: ANSIBLE_INVENTORY's, else ansible.cfg's (the lab)."""
    named = [path for path in os.environ.get("ANSIBLE_INVENTORY", "").split(",") if path]
    return named or [str(REPO_ROOT / "inventories" / "paper"), str(REPO_ROOT / "inventories" / "lab")]


@cache
def deployed() -> topology.Topology:
    return topology.load(*inventory_paths())


@cache
def role_defaults(role: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    return dict(data)


def role_var(role: str, name: str, host: str) -> Any:
    """A role variable as the host sees it: the inventory's value, else the role's default, with the
    default's references to other variables (its role's and the inventory's) rendered."""
    value = deployed().hostvars[host].get(name, role_defaults(role)[name])
    context = {**role_defaults(role), **deployed().hostvars[host]}
    return render(value, context)


def render(value: Any, context: dict[str, Any]) -> Any:
    """A variable's value with its Jinja references rendered, recursively, as Ansible would."""
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    while isinstance(value, str) and "{{" in value:
        value = RENDERER.from_string(value).render(context)
    return value


def groups_of(host: str) -> list[str]:
    """The host's groups whose services run, as the common role derives them (common_host_groups)."""
    return deployed().service_groups(host)


def for_groups(mapping: dict[str, Any], host: str) -> list[Any]:
    """What a role's per-group mapping gives a host, flattened, as the role's vars/main.yml derives it."""
    values: list[Any] = []
    for group in groups_of(host):
        entry = mapping.get(group, [])
        values += entry if isinstance(entry, list) else [entry]
    return sorted(set(values))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked runs_first go first, the others keep their order (a stable sort)."""
    items.sort(key=lambda item: item.get_closest_marker("runs_first") is None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "inventory_host" in metafunc.fixturenames:
        metafunc.parametrize("inventory_host", deployed().hosts)


@pytest.fixture
def address(inventory_host: str) -> str:
    value = str(deployed().hostvars[inventory_host]["ansible_host"])
    check_target(value)
    return value


@pytest.fixture
def host(inventory_host: str) -> Iterator[Any]:
    yield lab_host(inventory_host)


def lab_host(name: str) -> Any:
    """A testinfra host for an inventory host, once its address is known to be a lab target."""
    check_target(str(deployed().hostvars[name]["ansible_host"]))
    # testinfra multiplexes its commands over ansible.cfg's control_path only once the folder exists.
    CONTROL_PATH_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=None)


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    directory = Path(os.environ.get("ARTIFACTS_DIR", REPO_ROOT / "artifacts"))
    return dict(json.loads((directory / "manifest.json").read_text()))


@cache
def controller_var(name: str) -> str:
    """A variable as Ansible templates it for the control node (e.g. paths built from $HOME)."""
    result = subprocess.run(
        ["ansible", "localhost", "-m", "ansible.builtin.debug", "-a", f"var={name}", "-o"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return str(json.loads(result.stdout.split("=>", 1)[1])[name])


def service_users(inventory_host: str) -> list[str]:
    """The system users of the services the host runs: those the common role creates, and those a package
    makes (postgres) that present one of the host's identities."""
    created = for_groups(role_var("common", "common_group_service_users", inventory_host), inventory_host)
    presenting = {
        service_user(inventory_host, identity.runs_as)
        for identity in topology.host_identities(deployed(), inventory_host)
        if identity.runs_as
    }
    return sorted(set(created) | presenting)


def service_user(inventory_host: str, kind: str) -> str:
    """The system user of a kind of service (a key of medledger_service_users)."""
    return str(deployed().hostvars[inventory_host]["medledger_service_users"][kind])


def readable_by(host: Any, user: str, paths: list[str]) -> set[str]:
    """Which of `paths` a process running as `user` on the host may open for reading: what an intruder in
    that service could read."""
    listing = host.check_output(
        f'runuser -u {user} -- sh -c \'for f; do [ -r "$f" ] && echo "$f"; done; true\' sh {" ".join(paths)}'
    )
    return set(str(listing).split())


def run_module(host: str, module: str, arguments: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """One Ansible module on a lab host, as root."""
    return lab_clients.run_module(deployed(), host, module, arguments)


def ansible_run(*args: str, strategy: str | None = None) -> subprocess.CompletedProcess[str]:
    """ansible-playbook (args[0] ending .yml) or ansible ad hoc, against the deployed inventory."""
    for host in deployed().hosts:
        check_target(str(deployed().hostvars[host]["ansible_host"]))
    return lab_clients.ansible(*args, strategy=strategy)


def tls_session(host: Any, endpoint: str, tls_dir: str, present_certificate: bool = True) -> str:
    """openssl's account of a TLS session from `host` to `endpoint`, verified against the TLS CA chain in
    `tls_dir` (ca.crt), presenting that folder's identity (server.crt, server.key) or none. It stays open
    two seconds, long enough to see a server's TLS 1.3 alert when it wanted a client certificate."""
    client = f"-cert {tls_dir}/server.crt -key {tls_dir}/server.key" if present_certificate else ""
    command = (
        f"sleep 2 | timeout 20 openssl s_client -connect {endpoint} -CAfile {tls_dir}/ca.crt "
        f"{client} -verify_return_error 2>&1"
    )
    return str(host.run(command).stdout)


def accepted(session: str) -> bool:
    return "Verify return code: 0 (ok)" in session and "alert" not in session


PLAINTEXT_SCRIPT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as plain:
    plain.sendall(bytes.fromhex(sys.argv[3]))
    plain.settimeout(5)
    try:
        print(plain.recv(64).hex())
    except (ConnectionResetError, TimeoutError):
        print("")
"""


def plaintext_answer(address: str, port: int, probe: bytes, source: str | None = None) -> bytes:
    """What a TLS-only port answers to a plaintext request: a TLS alert, or nothing. Sent from the control
    node, or from inventory host `source` for ports the firewall opens only to some hosts."""
    if source is not None:
        check_target(address)
        answer = lab_host(source).check_output(f"python3 -c '{PLAINTEXT_SCRIPT}' {address} {port} {probe.hex()}")
        return bytes.fromhex(str(answer).strip())
    with socket.create_connection((address, port), timeout=5) as plain:
        plain.sendall(probe)
        plain.settimeout(5)
        try:
            return plain.recv(64)
        except (ConnectionResetError, TimeoutError):
            return b""


PROBE_SCRIPT = """
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("open")
except ConnectionRefusedError:
    print("closed")
except OSError as error:
    print("filtered" if isinstance(error, TimeoutError) or error.errno == errno.EHOSTUNREACH else error)
"""


def probe_from(source: str, address: str, port: int) -> str:
    """What a TCP connection from inventory host `source` to address:port meets: 'open', 'closed' (refused,
    so the firewall let it through) or 'filtered' (dropped)."""
    check_target(address)
    result = lab_host(source).run(f"python3 -c '{PROBE_SCRIPT}' {address} {port}")
    return str(result.stdout).strip()


def port_closed(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return False
    except OSError:
        return True


def https_get(address: str, port: int, path: str, root: Path, server_name: str) -> dict[str, Any]:
    """GET over TLS, verifying the server against `root` under the name `server_name`."""
    context = ssl.create_default_context(cafile=str(root))
    connection = http.client.HTTPSConnection(address, port, timeout=5, context=context)
    # Verify the certificate for the host's inventory name, as clients will, while connecting by address.
    connection.sock = context.wrap_socket(
        socket.create_connection((address, port), timeout=5), server_hostname=server_name
    )
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    return dict(json.loads(response.read()))
