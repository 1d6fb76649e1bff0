"""The lab: one Docker container per inventory host, run like a VM (systemd as PID 1, sshd).

Each container gets exactly the inventory's `ansible_host` address on the bridge network
`medledger-lab`, so playbooks run unchanged against inventories/paper plus the connection settings in
inventories/lab. Nothing can be pulled here, so the base image is made with debootstrap.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medledger_tools import labsafety, topology
from medledger_tools.labsafety import (
    CONTAINER_PREFIX,
    HOST_LABEL,
    LAB_LABEL,
    LAB_LABEL_FILTER,
    LAB_NETWORK,
    DockerClient,
)
from medledger_tools.paths import REPO_ROOT

DOCKER_SOCKET = Path(labsafety.DOCKER_SOCKET)
# A fixed bridge name lets the host-address check recognise our own interface in `ip addr`.
BRIDGE_NAME = "medledger-lab"
IMAGE_PREFIX = "medledger-lab-"
BASE_REPO, BASE_TAG = "medledger-lab-base", "bookworm"
BASE_IMAGE = f"{BASE_REPO}:{BASE_TAG}"
HOST_REPO = "medledger-lab-host"
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "openssh-server",
    "sudo",
    "python3",
    "iproute2",
    "ca-certificates",
)
COMMON_DEFAULTS = Path("roles/common/defaults/main.yml")
DEFAULT_INVENTORY = Path("inventories/paper")
READY_STATES = ("running", "degraded")
READY_TIMEOUT = 90.0
ENGINE_TIMEOUT = 60.0
# Builds and imports stream for minutes; docker-py's default 60 s would cut them off.
DOCKER_TIMEOUT = 900
OPS_SSH_DIR = "/home/ops/.ssh"
# Debian policy for package names; also keeps anything shell-like out of the Dockerfile's RUN line.
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")
_KNOWN_LAB_FILES = (
    *("id_ed25519", "id_ed25519.pub", "known_hosts", "known_hosts.tmp", "dockerd.log", "vault-pass"),
    "backup-passphrase",
)

Container = Any  # docker-py ships no type information


class LabError(Exception):
    """A step failed; exit code 1."""

    exit_code = 1


class LabRefusal(LabError):
    """The lab would collide with something that is not ours; nothing was created. Exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class LabPlan:
    """The inventory's hosts and the /24 they share."""

    hosts: dict[str, ipaddress.IPv4Address]
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- inventory ------------------------------------------------------------------------------------


def hosts_from_topology(hosts: topology.Topology) -> dict[str, str]:
    """inventory hostname -> ansible_host."""
    addresses: dict[str, str] = {}
    for name in hosts.hosts:
        if not _HOST_NAME.fullmatch(name):
            raise LabRefusal(f"inventory host name {name!r} cannot be a container hostname")
        address = hosts.hostvars[name].get("ansible_host")
        if not address:
            raise LabRefusal(f"inventory host {name} has no ansible_host")
        addresses[name] = str(address)
    return addresses


def read_inventory(inventories: Sequence[Path], cwd: Path) -> dict[str, str]:
    paths = [inventory if inventory.is_absolute() else cwd / inventory for inventory in inventories]
    for path in paths:
        if not path.exists():
            raise LabError(f"inventory {path} not found")
    try:
        return hosts_from_topology(topology.load(*map(str, paths)))
    except topology.InventoryError as error:
        raise LabError(str(error)) from error


def plan_lab(hosts: Mapping[str, str]) -> LabPlan:
    """Check the addresses and derive the /24 network and its gateway; refuse what cannot work."""
    if not hosts:
        raise LabRefusal("the inventory has no hosts")
    parsed: dict[str, ipaddress.IPv4Address] = {}
    owner: dict[ipaddress.IPv4Address, str] = {}
    for name, raw in hosts.items():
        try:
            address = ipaddress.IPv4Address(raw)
        except ipaddress.AddressValueError:
            raise LabRefusal(f"{name}: ansible_host {raw!r} is not an IPv4 address") from None
        if address in owner:
            raise LabRefusal(f"{owner[address]} and {name} both use {address}")
        owner[address] = name
        parsed[name] = address
    subnets = sorted({ipaddress.IPv4Network(f"{a}/24", strict=False) for a in parsed.values()})
    if len(subnets) != 1:
        spread = ", ".join(str(s) for s in subnets)
        raise LabRefusal(f"inventory addresses span several /24 networks ({spread}); the lab needs one")
    subnet = subnets[0]
    gateway = subnet.network_address + 1
    for name, address in parsed.items():
        if address == gateway:
            raise LabRefusal(f"{name} uses {address}, which the lab network {subnet} needs as gateway")
        if address in (subnet.network_address, subnet.broadcast_address):
            raise LabRefusal(f"{name} uses {address}, the network or broadcast address of {subnet}")
    return LabPlan(hosts=parsed, subnet=subnet, gateway=gateway)


# --- refusals -------------------------------------------------------------------------------------


def _is_ours(labels: Mapping[str, str] | None) -> bool:
    return (labels or {}).get(LAB_LABEL) == "true"


def _network_subnets(network: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    configs = (network.attrs.get("IPAM") or {}).get("Config") or []
    subnets = []
    for config in configs:
        try:
            subnets.append(ipaddress.ip_network(config.get("Subnet", ""), strict=False))
        except ValueError:
            continue
    return subnets


def find_lab_network(client: DockerClient, subnet: ipaddress.IPv4Network) -> Any | None:
    """Our existing network, or None; refuse if another network claims the name or the subnet."""
    ours = None
    for network in client.networks.list():
        is_ours = network.name == LAB_NETWORK and _is_ours(network.attrs.get("Labels"))
        if network.name == LAB_NETWORK and not is_ours:
            raise LabRefusal(f"a Docker network named {LAB_NETWORK} exists without label {LAB_LABEL_FILTER}")
        subnets = _network_subnets(network)
        if is_ours:
            if subnets != [subnet]:
                have = ", ".join(str(s) for s in subnets) or "none"
                raise LabRefusal(
                    f"the lab network has subnet {have} but the inventory needs {subnet}; run `down` first"
                )
            ours = network
            continue
        for other in subnets:
            if other.version == 4 and other.overlaps(subnet):
                raise LabRefusal(f"subnet {subnet} overlaps {other} of Docker network {network.name}")
    return ours


def bridge_name(network: Any) -> str:
    options = network.attrs.get("Options") or {}
    return str(options.get("com.docker.network.bridge.name") or f"br-{str(network.id)[:12]}")


def host_address_conflicts(
    subnet: ipaddress.IPv4Network, interfaces: Iterable[Mapping[str, Any]], own_bridge: str | None
) -> list[str]:
    """Interfaces of this machine (from `ip -json addr`) whose IPv4 networks overlap the lab's."""
    conflicts = []
    for interface in interfaces:
        name = str(interface.get("ifname", "?"))
        if own_bridge is not None and name == own_bridge:
            continue
        for info in interface.get("addr_info", []):
            if info.get("family") != "inet":
                continue
            network = ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}").network
            if network.overlaps(subnet):
                conflicts.append(f"{name} ({info['local']}/{info['prefixlen']})")
    return conflicts


def route_conflicts(
    subnet: ipaddress.IPv4Network, routes: Iterable[Mapping[str, Any]], own_bridge: str | None
) -> list[str]:
    """Routes (from `ip -json route`) that already send the lab's subnet somewhere else, e.g. a VPN."""
    conflicts = []
    for route in routes:
        destination, device = route.get("dst"), str(route.get("dev", "?"))
        if destination in (None, "default") or (own_bridge is not None and device == own_bridge):
            continue
        try:
            network = ipaddress.ip_network(str(destination), strict=False)
        except ValueError:
            continue
        if network.version == 4 and network.overlaps(subnet):
            conflicts.append(f"route {destination} via {device}")
    return conflicts


def _ip_json(*args: str) -> list[dict[str, Any]]:
    result = subprocess.run(["ip", "-json", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"`ip -json {' '.join(args)}` failed: {result.stderr.strip()}")
    data: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return data


def check_host_addresses(subnet: ipaddress.IPv4Network, own_bridge: str | None) -> None:
    found = host_address_conflicts(subnet, _ip_json("addr"), own_bridge)
    found += route_conflicts(subnet, _ip_json("-4", "route"), own_bridge)
    if found:
        raise LabRefusal(f"subnet {subnet} is already in use on this machine: {'; '.join(found)}")


def container_name(host: str) -> str:
    return f"{CONTAINER_PREFIX}{host}"


def lab_containers(client: DockerClient, plan: LabPlan) -> dict[str, Container]:
    """Existing containers named like ours, by host; refuse any that lacks our label."""
    by_name = {c.name: c for c in client.containers.list(all=True)}
    found: dict[str, Container] = {}
    for host in plan.hosts:
        container = by_name.get(container_name(host))
        if container is None:
            continue
        if not _is_ours(container.labels):
            raise LabRefusal(f"container {container.name} exists but is not the lab's (no label {LAB_LABEL_FILTER})")
        found[host] = container
    return found


# --- engine and host tools ------------------------------------------------------------------------


def connect(timeout: int = DOCKER_TIMEOUT) -> DockerClient | None:
    """A client for the local engine, or None if the socket does not answer."""
    import docker  # noqa: PLC0415 - keeps `--help` fast
    import requests  # noqa: PLC0415

    if not DOCKER_SOCKET.exists():
        return None
    try:
        client = docker.DockerClient(base_url=f"unix://{DOCKER_SOCKET}", timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException, OSError):
        return None
    return client


def _which(command: str) -> str | None:
    # Daemons live in sbin, which a non-login PATH may lack.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return shutil.which(command, path=search)


def ensure_packages(commands: Mapping[str, str]) -> None:
    """Install (apt-get) the Debian package of every command that is missing."""
    missing = sorted({package for command, package in commands.items() if _which(command) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise LabError(f"missing Debian packages {' '.join(missing)}: install them or run as root")
    progress(f"installing {' '.join(missing)} with apt-get...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", *missing]):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise LabError(f"`{' '.join(command)}` failed: {last}")


def ensure_engine(lab_dir: Path) -> DockerClient:
    client = connect()
    if client is not None:
        return client
    ensure_packages({"dockerd": "docker.io", "debootstrap": "debootstrap"})
    prepare_lab_dir(lab_dir)
    log_path = lab_dir / "dockerd.log"
    progress(f"starting dockerd (log: {log_path})...")
    dockerd = _which("dockerd") or "dockerd"
    with log_path.open("ab") as log:
        # Its own session, so the daemon outlives this process and ignores our terminal's signals.
        subprocess.Popen(
            [dockerd], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + ENGINE_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.5)
        client = connect()
        if client is not None:
            return client
    raise LabError(f"dockerd did not answer within {ENGINE_TIMEOUT:.0f} s; see {log_path}")


# --- lab directory and key ------------------------------------------------------------------------


def lab_dir() -> Path:
    # Fixed: inventories/lab names this path, and testinfra reads it untemplated.
    return Path.home() / ".cache" / "medledger" / "lab"


def prepare_lab_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)


def ensure_backup_passphrase(directory: Path) -> None:
    """The lab's throwaway passphrase for playbooks/backup.yml (inventories/lab names it)."""
    passphrase = directory / "backup-passphrase"
    if not passphrase.exists():
        descriptor = os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")


def ensure_key(directory: Path) -> str:
    """The lab's public key; the key pair is made on first use."""
    key = directory / "id_ed25519"
    public = directory / "id_ed25519.pub"
    if not key.exists():
        public.unlink(missing_ok=True)
        command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "medledger-lab", "-f", str(key)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    key.chmod(0o600)
    if not public.exists():
        derived = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True)
        public.write_text(derived.stdout)
    return public.read_text().strip()


# --- images ---------------------------------------------------------------------------------------


def _package_list(path: Path, key: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LabError(f"{path}: {key} must be a list of Debian package names")
    for package in value:
        if not isinstance(package, str) or not _PACKAGE_NAME.fullmatch(package):
            raise LabError(f"{path}: {key} entry {package!r} is not a Debian package name")
    return value


def read_common_packages(root: Path) -> list[str]:
    """Packages the common role installs: `common_packages` plus every list in
    `common_group_packages`. Pre-installing them all in the one host image keeps that role a no-op
    in the lab. None while the role does not exist yet."""
    path = root / COMMON_DEFAULTS
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise LabError(f"{path}: expected a mapping of role defaults")
    packages = _package_list(path, "common_packages", data.get("common_packages"))
    groups = data.get("common_group_packages") or {}
    if not isinstance(groups, dict):
        raise LabError(f"{path}: common_group_packages must map inventory groups to package lists")
    for group in sorted(groups):
        packages += _package_list(path, f"common_group_packages.{group}", groups[group])
    return list(dict.fromkeys(packages))


def host_dockerfile(extra_packages: Sequence[str]) -> str:
    packages = " ".join(dict.fromkeys([*BASE_PACKAGES, *extra_packages]))
    # Host keys are made at first boot (ExecStartPre) so no two containers share them. The empty
    # ExecStartPre= drops Debian's `sshd -t`, which would fail without keys, and re-adds it after.
    return f"""FROM {BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \\
 && apt-get install -y --no-install-recommends {packages} \\
 && apt-get clean \\
 && rm -rf /var/lib/apt/lists/*
RUN rm -f /etc/ssh/ssh_host_* \\
 && mkdir -p /etc/systemd/system/ssh.service.d \\
 && printf '%s\\n' '[Service]' 'ExecStartPre=' \\
      'ExecStartPre=/usr/bin/ssh-keygen -A' 'ExecStartPre=/usr/sbin/sshd -t' \\
    > /etc/systemd/system/ssh.service.d/10-medledger-host-keys.conf \\
 && useradd --create-home --shell /bin/bash ops \\
 && printf 'ops ALL=(ALL) NOPASSWD:ALL\\n' > /etc/sudoers.d/ops \\
 && chmod 0440 /etc/sudoers.d/ops \\
 && install -d -m 0700 -o ops -g ops {OPS_SSH_DIR}
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
"""


def host_image_ref(dockerfile: str) -> str:
    return f"{HOST_REPO}:{hashlib.sha256(dockerfile.encode()).hexdigest()[:12]}"


def image_exists(client: DockerClient, reference: str) -> bool:
    import docker  # noqa: PLC0415

    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def _run_logged(command: Sequence[str], log_path: Path) -> None:
    with log_path.open("w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log_path.read_text().strip().splitlines()[-5:]
        for line in tail:
            progress(f"  {line}")
        raise LabError(f"`{' '.join(command[:3])} ...` failed with exit code {result.returncode}")


def ensure_base_image(client: DockerClient) -> None:
    if image_exists(client, BASE_IMAGE):
        return
    ensure_packages({"debootstrap": "debootstrap"})
    progress(f"building base image {BASE_IMAGE} (debootstrap, ~30 s)...")
    with tempfile.TemporaryDirectory(prefix="medledger-lab-base-") as temp:
        rootfs, tarball = Path(temp) / "rootfs", Path(temp) / "rootfs.tar"
        debootstrap = _which("debootstrap") or "debootstrap"
        _run_logged([debootstrap, "--variant=minbase", BASE_TAG, str(rootfs)], Path(temp) / "debootstrap.log")
        _run_logged(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], Path(temp) / "tar.log")
        progress(f"importing {BASE_IMAGE}...")
        client.api.import_image_from_file(
            str(tarball), repository=BASE_REPO, tag=BASE_TAG, changes=[f"LABEL {LAB_LABEL_FILTER}"]
        )


def ensure_host_image(client: DockerClient, root: Path) -> str:
    import docker  # noqa: PLC0415

    dockerfile = host_dockerfile(read_common_packages(root))
    reference = host_image_ref(dockerfile)
    if image_exists(client, reference):
        return reference
    progress(f"building host image {reference} (apt-get inside, ~1-2 min)...")
    try:
        client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=reference,
            labels={LAB_LABEL: "true"},
            rm=True,
            forcerm=True,
            pull=False,
        )
    except docker.errors.BuildError as exc:
        lines = [str(chunk.get("stream", "")).rstrip() for chunk in exc.build_log if isinstance(chunk, dict)]
        for line in [line for line in lines if line][-10:]:
            progress(f"  {line}")
        raise LabError(f"building {reference} failed: {exc.msg}") from None
    return reference


# --- network and containers -----------------------------------------------------------------------


def ensure_network(client: DockerClient, plan: LabPlan, existing: Any | None) -> None:
    import docker  # noqa: PLC0415

    if existing is not None:
        return
    pool = docker.types.IPAMPool(subnet=str(plan.subnet), gateway=str(plan.gateway))
    client.networks.create(
        LAB_NETWORK,
        driver="bridge",
        ipam=docker.types.IPAMConfig(pool_configs=[pool]),
        labels={LAB_LABEL: "true"},
        options={"com.docker.network.bridge.name": BRIDGE_NAME},
        check_duplicate=True,
    )


def start_container(client: DockerClient, host: str, address: ipaddress.IPv4Address, image: str) -> Container:
    endpoint = client.api.create_endpoint_config(ipv4_address=str(address))
    return client.containers.run(
        image,
        command=["/lib/systemd/systemd"],
        name=container_name(host),
        hostname=host,
        network=LAB_NETWORK,
        networking_config={LAB_NETWORK: endpoint},
        labels={LAB_LABEL: "true", HOST_LABEL: host},
        # systemd adapts its behaviour (no udev, no getty) when it knows it runs in a container.
        environment={"container": "docker"},
        cap_add=["SYS_ADMIN", "NET_ADMIN"],
        security_opt=["seccomp=unconfined"],
        tmpfs={"/run": "", "/run/lock": ""},
        volumes=["/sys/fs/cgroup:/sys/fs/cgroup:ro"],
        detach=True,
    )


def container_address(container: Container) -> str | None:
    networks = container.attrs.get("NetworkSettings", {}).get("Networks", {})
    address = (networks.get(LAB_NETWORK) or {}).get("IPAddress")
    return str(address) if address else None


def _exec(container: Container, command: Sequence[str]) -> tuple[int, str]:
    result = container.exec_run(list(command))
    return int(result.exit_code), bytes(result.output or b"").decode(errors="replace").strip()


def install_public_key(container: Container, public_key: str) -> None:
    data = (public_key.strip() + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("authorized_keys")
        info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
        archive.addfile(info, io.BytesIO(data))
    container.put_archive(OPS_SSH_DIR, buffer.getvalue())
    # The engine keeps the archive's numeric owner (root); sshd's StrictModes needs ops to own it.
    code, output = _exec(container, ["chown", "ops:ops", f"{OPS_SSH_DIR}/authorized_keys"])
    if code != 0:
        raise LabError(f"{container.name}: chown of authorized_keys failed: {output}")


def systemd_state(container: Container) -> str:
    # is-system-running exits non-zero for "degraded" and "starting": the text is what matters.
    _code, output = _exec(container, ["systemctl", "is-system-running"])
    return (output.splitlines() or ["unknown"])[-1]


def ssh_port_open(address: ipaddress.IPv4Address) -> bool:
    labsafety.assert_lab_target(str(address))
    try:
        with socket.create_connection((str(address), 22), timeout=1):
            return True
    except OSError:
        return False


def _host_ready(container: Container, address: ipaddress.IPv4Address) -> tuple[bool, str]:
    container.reload()
    if container.status != "running":
        logs = bytes(container.logs(tail=5)).decode(errors="replace").strip().replace("\n", " | ")
        raise LabError(f"{container.name} stopped ({container.status}): {logs or 'no output'}")
    state = systemd_state(container)
    if state not in READY_STATES:
        return False, f"systemd {state}"
    if not ssh_port_open(address):
        return False, "sshd not listening"
    return True, state


def wait_ready(containers: Mapping[str, Container], plan: LabPlan, timeout: float) -> None:
    """Poll until every host's systemd is up and sshd answers; report degraded units."""
    deadline = time.monotonic() + timeout
    pending = dict(containers)
    waiting: dict[str, str] = {}
    while pending:
        for host, container in list(pending.items()):
            ready, detail = _host_ready(container, plan.hosts[host])
            if ready:
                del pending[host]
                if detail == "degraded":
                    _report_failed_units(host, container)
            else:
                waiting[host] = detail
        if not pending:
            return
        if time.monotonic() > deadline:
            detail = ", ".join(f"{host} ({waiting[host]})" for host in pending)
            raise LabError(f"not ready after {timeout:.0f} s: {detail}")
        time.sleep(1)


def _report_failed_units(host: str, container: Container) -> None:
    _code, units = _exec(container, ["systemctl", "--failed", "--plain", "--no-legend", "--no-pager"])
    names = " ".join(line.split()[0] for line in units.splitlines() if line.strip())
    progress(f"{host}: systemd degraded (failed units: {names or 'none listed'})")


def known_hosts_line(address: str, host_public_key: str) -> str:
    """`<ip> <type> <key>`: the key file's comment (root@hostname) has no place in known_hosts."""
    fields = host_public_key.split()
    if len(fields) < 2 or fields[0] != "ssh-ed25519":
        raise LabError(f"{address}: unexpected host key {host_public_key[:40]!r}")
    return f"{address} {fields[0]} {fields[1]}"


def write_known_hosts(directory: Path, containers: Mapping[str, Container], plan: LabPlan) -> None:
    lines = []
    for host, container in containers.items():
        code, key = _exec(container, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
        if code != 0:
            raise LabError(f"{host}: cannot read its ed25519 host key: {key}")
        lines.append(known_hosts_line(str(plan.hosts[host]), key))
    temporary = directory / "known_hosts.tmp"
    temporary.write_text("\n".join(lines) + "\n")
    temporary.chmod(0o600)
    temporary.replace(directory / "known_hosts")


def ssh_command(directory: Path, address: str, *remote: str) -> list[str]:
    return [
        "ssh",
        "-F", "/dev/null",
        "-i", str(directory / "id_ed25519"),
        "-o", f"UserKnownHostsFile={directory / 'known_hosts'}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "ConnectTimeout=10",
        f"ops@{address}",
        *remote,
    ]  # fmt: skip


def _verify_one(directory: Path, host: str, address: ipaddress.IPv4Address) -> str | None:
    labsafety.assert_lab_target(str(address))
    command = ssh_command(directory, str(address), "sudo", "-n", "true")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode == 0:
        return None
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return f"{host}: ssh ops@{address} 'sudo -n true' failed ({result.returncode}): {last}"


def verify_ssh(directory: Path, plan: LabPlan) -> None:
    """A real login plus sudo on every host, as Ansible will do it; in parallel, as it is slow."""
    with ThreadPoolExecutor(max_workers=len(plan.hosts)) as pool:
        failures = pool.map(lambda item: _verify_one(directory, *item), plan.hosts.items())
        problems = [failure for failure in failures if failure is not None]
    if problems:
        raise LabError("; ".join(problems))


# --- commands -------------------------------------------------------------------------------------


def _remove_strays(client: DockerClient, plan: LabPlan) -> None:
    """Lab containers whose host left the inventory would hold on to addresses; remove them."""
    wanted = {container_name(host) for host in plan.hosts}
    for container in client.containers.list(all=True, filters={"label": LAB_LABEL_FILTER}):
        if _is_ours(container.labels) and container.name not in wanted:
            progress(f"removing {container.name}: its host is no longer in the inventory")
            container.remove(force=True, v=True)


def _reuse_or_start(
    client: DockerClient, plan: LabPlan, existing: Mapping[str, Container], image: str
) -> tuple[dict[str, Container], list[str]]:
    containers: dict[str, Container] = {}
    already_up = []
    image_id = str(client.images.get(image).id)
    for host, address in plan.hosts.items():
        container = existing.get(host)
        if container is not None and container.status == "running":
            already_up.append(host)
            containers[host] = container
            _warn_if_stale(host, container, address, image_id)
            continue
        if container is not None:
            progress(f"{host}: container is {container.status}; recreating it")
            container.remove(force=True, v=True)
        progress(f"{host}: starting {container_name(host)} at {address}")
        containers[host] = start_container(client, host, address, image)
    return containers, already_up


def _warn_if_stale(host: str, container: Container, address: ipaddress.IPv4Address, image_id: str) -> None:
    actual = container_address(container)
    if actual != str(address):
        progress(f"{host}: running at {actual} but the inventory says {address}; run down + up")
    elif container.attrs.get("Image") != image_id:
        progress(f"{host}: runs an older host image; run down + up to get the current package list")


def cmd_up(inventories: Sequence[Path], root: Path) -> int:
    started = time.monotonic()
    plan = plan_lab(read_inventory(inventories, root))
    directory = lab_dir()
    client = ensure_engine(directory)
    network = find_lab_network(client, plan.subnet)
    check_host_addresses(plan.subnet, bridge_name(network) if network is not None else None)
    existing = lab_containers(client, plan)

    prepare_lab_dir(directory)
    public_key = ensure_key(directory)
    ensure_backup_passphrase(directory)
    ensure_base_image(client)
    image = ensure_host_image(client, root)
    ensure_network(client, plan, network)
    _remove_strays(client, plan)
    containers, already_up = _reuse_or_start(client, plan, existing, image)
    if not already_up:
        forget_previous_deployment(directory)
    for container in containers.values():
        install_public_key(container, public_key)
    progress(f"waiting for systemd and sshd on {len(containers)} hosts (<= {READY_TIMEOUT:.0f} s)...")
    wait_ready(containers, plan, READY_TIMEOUT)
    write_known_hosts(directory, containers, plan)
    verify_ssh(directory, plan)

    if already_up:
        print(f"already up: {', '.join(already_up)}")
    print(f"lab up: {len(plan.hosts)} hosts on {plan.subnet} in {time.monotonic() - started:.0f} s")
    first = next(iter(plan.hosts.values()))
    print(f"try: {' '.join(ssh_command(directory, str(first)))}")
    return 0


def status_rows(client: DockerClient | None, plan: LabPlan) -> list[tuple[str, str, str, str]]:
    by_name = {c.name: c for c in client.containers.list(all=True)} if client is not None else {}
    rows = []
    for host, address in plan.hosts.items():
        container = by_name.get(container_name(host))
        if client is None:
            state, systemd = "engine down", "-"
        elif container is None:
            state, systemd = "missing", "-"
        elif not _is_ours(container.labels):
            state, systemd = "not ours", "-"
        else:
            state = str(container.status)
            systemd = systemd_state(container) if state == "running" else "-"
        rows.append((host, str(address), state, systemd))
    return rows


def format_table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])  # fmt: skip


def cmd_status(inventories: Sequence[Path], root: Path) -> int:
    plan = plan_lab(read_inventory(inventories, root))
    rows = status_rows(connect(), plan)
    print(format_table(rows, ("host", "address", "container", "systemd")))
    healthy = all(state == "running" and systemd in READY_STATES for _h, _a, state, systemd in rows)
    return 0 if healthy else 1


def check_inventories(inventories: Sequence[Path] | None) -> list[Path]:
    """`check` reads the inventory Ansible will use: --inventory, else $ANSIBLE_INVENTORY, else the paper's."""
    if inventories:
        return list(inventories)
    from_env = [Path(item).resolve() for item in os.environ.get("ANSIBLE_INVENTORY", "").split(",") if item.strip()]
    return from_env or [REPO_ROOT / DEFAULT_INVENTORY]


def cmd_check(inventories: Sequence[Path], root: Path) -> int:
    """Exit 0 when every inventory host is a running lab container; else refuse (exit 2), one line."""
    hosts = read_inventory(inventories, root)
    try:
        labsafety.assert_lab_up(hosts)
    except labsafety.LabNotUpError as exc:
        raise LabRefusal(str(exc)) from exc
    print(f"lab is up: {len(hosts)} hosts are running lab containers")
    return 0


def forget_previous_deployment(directory: Path) -> None:
    """A lab whose hosts all start fresh has no deployment yet: the offline roots, intermediates' chains
    and channel blocks kept on the control node belong to hosts that are gone (a lab torn down without
    `down`, or a cache copied from another machine), and reusing them would give the new orderers
    another lab's channels."""
    kept = directory / "pki"
    if kept.exists():
        progress(f"removing {kept}: it belongs to a lab whose hosts are gone")
        shutil.rmtree(kept)


def _remove_lab_dir(directory: Path) -> None:
    # Only the files this tool makes are deleted, so a wrong path can never wipe a home.
    if not directory.is_dir():
        return
    for name in _KNOWN_LAB_FILES:
        (directory / name).unlink(missing_ok=True)
    forget_previous_deployment(directory)
    try:
        directory.rmdir()
    except OSError:
        progress(f"left {directory}: it holds files the lab did not create")


def _remove_images(client: DockerClient) -> None:
    tags = sorted(
        {tag for image in client.images.list() for tag in image.tags if tag.startswith(IMAGE_PREFIX)},
        key=lambda tag: tag.startswith(BASE_REPO),  # host images first: they are built FROM the base
    )
    for tag in tags:
        progress(f"removing image {tag}")
        client.images.remove(tag)


def cmd_down(remove_images: bool) -> int:
    client = connect()
    if client is None:
        progress("Docker engine not running: no containers or network to remove")
    else:
        for container in client.containers.list(all=True, filters={"label": LAB_LABEL_FILTER}):
            if _is_ours(container.labels):
                progress(f"removing {container.name}")
                container.remove(force=True, v=True)
        for network in client.networks.list(names=[LAB_NETWORK], filters={"label": LAB_LABEL_FILTER}):
            if network.name == LAB_NETWORK and _is_ours(network.attrs.get("Labels")):
                progress(f"removing network {network.name}")
                network.remove()
        for volume in client.volumes.list(filters={"label": LAB_LABEL_FILTER}):
            if _is_ours(volume.attrs.get("Labels")):
                progress(f"removing volume {volume.name}")
                volume.remove(force=True)
        if remove_images:
            _remove_images(client)
    labsafety.clear_cache()
    _remove_lab_dir(lab_dir())
    print("lab down" + ("" if remove_images else " (images kept as a cache; `down --images` removes them)"))
    return 0


# --- command line ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medledger-lab",
        description="Run the inventory's hosts as systemd containers at their ansible_host addresses.",
        epilog=(
            "Key and known_hosts live in ~/.cache/medledger/lab. "
            "`down` leaves the images medledger-lab-base and medledger-lab-host: they are a cache "
            "that makes the next `up` fast; `down --images` removes them too."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--inventory",
        dest="inventories",
        action="extend",
        nargs="+",
        type=Path,
        metavar="DIR",
        help=f"inventory to read hosts from (default {DEFAULT_INVENTORY})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", parents=[common], help="create or reuse the lab and check ssh into every host")
    down = commands.add_parser(
        "down", parents=[common], help="remove containers, network, volumes and key (images stay as a cache)"
    )
    down.add_argument("--images", action="store_true", help="also remove the medledger-lab-* images")
    commands.add_parser("status", parents=[common], help="container and systemd state per host")
    commands.add_parser(
        "check",
        parents=[common],
        help="exit 0 if every inventory host is a running lab container, else 2 with one line "
        "(default inventory: $ANSIBLE_INVENTORY, else inventories/paper)",
    )
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    root = REPO_ROOT
    inventories: list[Path] = args.inventories or [root / DEFAULT_INVENTORY]
    if args.command == "up":
        return cmd_up(inventories, root)
    if args.command == "status":
        return cmd_status(inventories, root)
    if args.command == "check":
        return cmd_check(check_inventories(args.inventories), root)
    return cmd_down(args.images)


def main(argv: Sequence[str] | None = None) -> int:
    import docker  # noqa: PLC0415

    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except LabError as exc:
        message, code = str(exc), exc.exit_code
    except labsafety.NotLabTargetError as exc:
        message, code = str(exc), 1
    except docker.errors.DockerException as exc:
        message, code = f"Docker engine: {(str(exc).splitlines() or [type(exc).__name__])[0]}", 1
    except KeyboardInterrupt:
        return 130
    print(f"medledger-lab: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
