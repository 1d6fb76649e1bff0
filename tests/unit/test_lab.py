"""The lab tool's planning and refusals, against fakes: no engine, no network, nothing created."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from medledger_tools import lab
from medledger_tools.lab import LabError, LabRefusal, plan_lab
from medledger_tools.topology import from_inventory_json

PAPER = {f"vm{n}": f"172.20.29.{n}" for n in range(30, 37)}
OURS = {"org.medledger.lab": "true"}
SUBNET = ipaddress.IPv4Network("172.20.29.0/24")


class FakeNetwork:
    def __init__(self, name: str, subnets: list[str], labels: dict[str, str] | None = None) -> None:
        self.name, self.id = name, f"{name}-0123456789abcdef"
        self.attrs: dict[str, Any] = {
            "Labels": labels or {},
            "IPAM": {"Config": [{"Subnet": subnet} for subnet in subnets]},
            "Options": {},
        }


class FakeContainer:
    def __init__(self, name: str, labels: dict[str, str], status: str = "running") -> None:
        self.name, self.labels, self.status = name, labels, status
        self.attrs: dict[str, Any] = {}


class FakeCollection:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.created: list[Any] = []

    def list(self, **_: Any) -> list[Any]:
        return list(self.items)

    def create(self, *args: Any, **kwargs: Any) -> None:
        self.created.append((args, kwargs))


class FakeClient:
    def __init__(self, networks: list[FakeNetwork], containers: list[FakeContainer] | None = None) -> None:
        self.networks = FakeCollection(networks)
        self.containers = FakeCollection(containers or [])


def default_networks() -> list[FakeNetwork]:
    return [FakeNetwork("bridge", ["172.17.0.0/16"]), FakeNetwork("host", []), FakeNetwork("none", [])]


# --- subnet derivation ----------------------------------------------------------------------------


def test_paper_inventory_gives_one_24_with_gateway_dot_1() -> None:
    plan = plan_lab(PAPER)
    assert plan.subnet == SUBNET
    assert plan.gateway == ipaddress.IPv4Address("172.20.29.1")
    assert [str(a) for a in plan.hosts.values()] == list(PAPER.values())


def test_two_24s_are_refused() -> None:
    with pytest.raises(LabRefusal) as refused:
        plan_lab({**PAPER, "vm36": "172.20.30.36"})
    assert str(refused.value) == (
        "inventory addresses span several /24 networks (172.20.29.0/24, 172.20.30.0/24); the lab needs one"
    )


def test_gateway_address_is_refused() -> None:
    with pytest.raises(LabRefusal) as refused:
        plan_lab({**PAPER, "vm30": "172.20.29.1"})
    assert str(refused.value) == "vm30 uses 172.20.29.1, which the lab network 172.20.29.0/24 needs as gateway"


@pytest.mark.parametrize("address", ["172.20.29.0", "172.20.29.255"])
def test_network_and_broadcast_addresses_are_refused(address: str) -> None:
    with pytest.raises(LabRefusal) as refused:
        plan_lab({**PAPER, "vm31": address})
    assert str(refused.value) == f"vm31 uses {address}, the network or broadcast address of 172.20.29.0/24"


def test_duplicate_address_is_refused() -> None:
    with pytest.raises(LabRefusal) as refused:
        plan_lab({**PAPER, "vm31": "172.20.29.30"})
    assert str(refused.value) == "vm30 and vm31 both use 172.20.29.30"


def test_non_ipv4_and_empty_inventories_are_refused() -> None:
    with pytest.raises(LabRefusal, match=r"^vm30: ansible_host 'db\.example' is not an IPv4 address$"):
        plan_lab({"vm30": "db.example"})
    with pytest.raises(LabRefusal, match=r"^the inventory has no hosts$"):
        plan_lab({})


def test_inventory_json_is_read_from_hostvars_and_groups() -> None:
    listing = {
        "_meta": {"hostvars": {"vm30": {"ansible_host": "172.20.29.30"}}},
        "all": {"children": ["peers"]},
        "peers": {"hosts": ["vm30"]},
    }
    assert lab.hosts_from_topology(from_inventory_json(listing)) == {"vm30": "172.20.29.30"}
    listing["peers"] = {"hosts": ["vm30", "vm31"]}
    with pytest.raises(LabRefusal, match=r"^inventory host vm31 has no ansible_host$"):
        lab.hosts_from_topology(from_inventory_json(listing))


# --- refusals: Docker networks, containers, host addresses ----------------------------------------


def test_subnet_of_a_foreign_network_is_refused() -> None:
    client = FakeClient([*default_networks(), FakeNetwork("someone-else", ["172.20.29.0/24"])])
    with pytest.raises(LabRefusal) as refused:
        lab.find_lab_network(client, SUBNET)
    assert str(refused.value) == ("subnet 172.20.29.0/24 overlaps 172.20.29.0/24 of Docker network someone-else")


def test_wider_foreign_network_is_refused() -> None:
    client = FakeClient([*default_networks(), FakeNetwork("wide", ["172.20.0.0/16"])])
    with pytest.raises(LabRefusal, match=r"overlaps 172\.20\.0\.0/16 of Docker network wide$"):
        lab.find_lab_network(client, SUBNET)


def test_network_with_our_name_but_not_our_label_is_refused() -> None:
    client = FakeClient([FakeNetwork("medledger-lab", ["10.9.9.0/24"], {"org.medledger.lab": "false"})])
    with pytest.raises(LabRefusal) as refused:
        lab.find_lab_network(client, SUBNET)
    assert str(refused.value) == ("a Docker network named medledger-lab exists without label org.medledger.lab=true")


def test_our_network_is_reused_and_its_subnet_checked() -> None:
    ours = FakeNetwork("medledger-lab", ["172.20.29.0/24"], OURS)
    assert lab.find_lab_network(FakeClient([*default_networks(), ours]), SUBNET) is ours
    assert lab.find_lab_network(FakeClient(default_networks()), SUBNET) is None
    moved = FakeNetwork("medledger-lab", ["172.20.30.0/24"], OURS)
    with pytest.raises(LabRefusal, match=r"has subnet 172\.20\.30\.0/24 but the inventory needs 172\.20\.29\.0/24"):
        lab.find_lab_network(FakeClient([moved]), SUBNET)


def test_container_named_like_ours_without_our_label_is_refused() -> None:
    client = FakeClient([], [FakeContainer("medledger-lab-vm32", {})])
    with pytest.raises(LabRefusal) as refused:
        lab.lab_containers(client, plan_lab(PAPER))
    assert str(refused.value) == (
        "container medledger-lab-vm32 exists but is not the lab's (no label org.medledger.lab=true)"
    )


def test_our_containers_are_found_by_host() -> None:
    ours = FakeContainer("medledger-lab-vm30", OURS)
    client = FakeClient([], [ours, FakeContainer("unrelated", {})])
    assert lab.lab_containers(client, plan_lab(PAPER)) == {"vm30": ours}


def interface(name: str, local: str, prefix: int) -> dict[str, Any]:
    return {"ifname": name, "addr_info": [{"family": "inet", "local": local, "prefixlen": prefix}]}


def test_host_interface_in_the_subnet_is_a_conflict_unless_it_is_our_bridge() -> None:
    interfaces = [
        interface("lo", "127.0.0.1", 8),
        interface("eth0", "192.0.2.2", 24),
        interface("wg0", "172.20.0.7", 16),
        interface("medledger-lab", "172.20.29.1", 24),
    ]
    assert lab.host_address_conflicts(SUBNET, interfaces, own_bridge="medledger-lab") == ["wg0 (172.20.0.7/16)"]
    assert lab.host_address_conflicts(SUBNET, interfaces, own_bridge=None) == [
        "wg0 (172.20.0.7/16)",
        "medledger-lab (172.20.29.1/24)",
    ]


def test_route_to_the_subnet_is_a_conflict() -> None:
    routes = [
        {"dst": "default", "dev": "eth0"},
        {"dst": "172.20.0.0/16", "dev": "tun0"},
        {"dst": "172.20.29.0/24", "dev": "medledger-lab"},
    ]
    assert lab.route_conflicts(SUBNET, routes, own_bridge="medledger-lab") == ["route 172.20.0.0/16 via tun0"]


def test_refusal_exits_2_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeClient([*default_networks(), FakeNetwork("someone-else", ["172.20.29.0/24"])])
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(lab, "read_inventory", lambda *_: dict(PAPER))
    monkeypatch.setattr(lab, "ensure_engine", lambda _dir: client)
    assert lab.main(["up"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "medledger-lab: error: subnet 172.20.29.0/24 overlaps 172.20.29.0/24 of Docker network someone-else\n"
    )
    assert not (tmp_path / ".cache").exists()
    assert client.networks.created == []


# --- images, keys, status -------------------------------------------------------------------------


def test_host_image_tag_follows_the_package_list() -> None:
    plain = lab.host_dockerfile([])
    assert lab.host_image_ref(plain) == lab.host_image_ref(lab.host_dockerfile([]))
    assert lab.host_image_ref(plain) == lab.host_image_ref(lab.host_dockerfile(["python3"]))
    with_chrony = lab.host_dockerfile(["chrony"])
    assert lab.host_image_ref(with_chrony) != lab.host_image_ref(plain)
    assert "ca-certificates chrony" in with_chrony
    tag = lab.host_image_ref(plain).removeprefix("medledger-lab-host:")
    assert len(tag) == 12
    assert int(tag, 16) >= 0


def test_host_keys_are_made_per_container_at_boot() -> None:
    dockerfile = lab.host_dockerfile([])
    assert "rm -f /etc/ssh/ssh_host_*" in dockerfile
    # Debian's own `sshd -t` must come after key generation, or ssh.service fails on first boot.
    reset = dockerfile.index("'ExecStartPre='")
    assert reset < dockerfile.index("'ExecStartPre=/usr/bin/ssh-keygen -A'")
    assert dockerfile.index("'ExecStartPre=/usr/bin/ssh-keygen -A'") < dockerfile.index("/usr/sbin/sshd -t")


def test_common_packages_come_from_the_role_defaults(tmp_path: Path) -> None:
    assert lab.read_common_packages(tmp_path) == []
    defaults = tmp_path / "roles/common/defaults/main.yml"
    defaults.parent.mkdir(parents=True)
    defaults.write_text(
        "common_packages: [chrony, nftables]\n"
        "common_group_packages:\n  zookeeper: [openjdk-17-jre-headless]\n  kafka: [openjdk-17-jre-headless]\n"
    )
    assert lab.read_common_packages(tmp_path) == ["chrony", "nftables", "openjdk-17-jre-headless"]
    defaults.write_text("common_packages: ['chrony; rm -rf /']\n")
    with pytest.raises(LabError, match=r"common_packages entry 'chrony; rm -rf /' is not a Debian package name"):
        lab.read_common_packages(tmp_path)


def test_known_hosts_line_drops_the_comment() -> None:
    line = lab.known_hosts_line("172.20.29.30", "ssh-ed25519 AAAAC3Nza root@vm30\n")
    assert line == "172.20.29.30 ssh-ed25519 AAAAC3Nza"
    with pytest.raises(LabError, match=r"^172\.20\.29\.30: unexpected host key"):
        lab.known_hosts_line("172.20.29.30", "ssh-rsa AAAAB3")


def test_status_rows_name_missing_and_foreign_containers() -> None:
    client = FakeClient(
        [], [FakeContainer("medledger-lab-vm30", OURS, "exited"), FakeContainer("medledger-lab-vm31", {})]
    )
    rows = lab.status_rows(client, plan_lab({"vm30": "172.20.29.30", "vm31": "172.20.29.31", "vm32": "172.20.29.32"}))
    assert rows == [
        ("vm30", "172.20.29.30", "exited", "-"),
        ("vm31", "172.20.29.31", "not ours", "-"),
        ("vm32", "172.20.29.32", "missing", "-"),
    ]
    assert lab.format_table(rows[:1], ("host", "address", "container", "systemd")) == (
        "host  address       container  systemd\nvm30  172.20.29.30  exited     -"
    )


def test_down_removes_only_files_the_lab_made(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    directory.mkdir()
    for name in ("id_ed25519", "id_ed25519.pub", "known_hosts"):
        (directory / name).write_text("x")
    lab._remove_lab_dir(directory)
    assert not directory.exists()
    directory.mkdir()
    (directory / "notes.txt").write_text("mine")
    lab._remove_lab_dir(directory)
    assert (directory / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(("already_up", "kept"), [([], False), (["vm30"], True)])
def test_up_forgets_the_pki_and_channel_blocks_of_a_lab_whose_hosts_are_all_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, already_up: list[str], kept: bool
) -> None:
    # A cache copied from a machine whose lab was running (or a lab lost without `down`) holds roots and
    # a system channel block; fresh orderers bootstrapping from that block serve another lab's channels.
    directory = tmp_path / "lab"
    blocks = directory / "pki" / "channels"
    blocks.mkdir(parents=True)
    (blocks / "system-channel.block").write_bytes(b"another lab's genesis")
    containers = {host: FakeContainer(lab.container_name(host), OURS) for host in PAPER}
    monkeypatch.setattr(lab, "lab_dir", lambda: directory)
    monkeypatch.setattr(lab, "ensure_engine", lambda _directory: FakeClient(default_networks()))
    monkeypatch.setattr(lab, "ensure_host_image", lambda _client, _root: "image")
    monkeypatch.setattr(lab, "ensure_key", lambda _directory: "ssh-ed25519 AAAA")
    monkeypatch.setattr(lab, "_reuse_or_start", lambda *_args: (containers, already_up))
    for step in ("check_host_addresses", "ensure_base_image", "ensure_network", "_remove_strays",
                 "install_public_key", "wait_ready", "write_known_hosts", "verify_ssh"):  # fmt: skip
        monkeypatch.setattr(lab, step, lambda *_args: None)
    monkeypatch.setattr(lab, "find_lab_network", lambda *_args: None)
    monkeypatch.setattr(lab, "lab_containers", lambda *_args: {})
    monkeypatch.setattr(lab, "read_inventory", lambda *_args: PAPER)

    assert lab.cmd_up([], tmp_path) == 0

    assert (blocks / "system-channel.block").exists() is kept
