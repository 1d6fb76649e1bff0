"""The CPU profile's accounting (bench/cpu_profile.py): cgroup readings of the lab containers' units, turned into
CPU-ms per committed transaction by kind of process, and the rate the machine's cores allow at that cost."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from medledger_tools.paths import REPO_ROOT

# bench/ is not a package: its modules import each other by name.
sys.path.insert(0, str(REPO_ROOT / "bench"))

import cpu_profile

CPU_STAT = "usage_usec {}\nuser_usec 1\nsystem_usec 2\n"


def cgroup_tree(root: Path, units: dict[str, dict[str, int]]) -> None:
    for container, used in units.items():
        for unit, usec in used.items():
            folder = root / container / "system.slice" / unit
            folder.mkdir(parents=True)
            (folder / "cpu.stat").write_text(CPU_STAT.format(usec))


def test_every_units_usage_is_read_but_the_hosts_plumbing(tmp_path: Path) -> None:
    cgroup_tree(
        tmp_path,
        {
            "abc": {"fabric-peer.service": 5000, "ssh.service": 900, r"system-medledger\x2dchaincode.slice": 700},
            "def": {"fabric-orderer.service": 300},
        },
    )
    found = cpu_profile.unit_usage(tmp_path, {"abc": "vm30", "def": "vm31"})
    assert found == {
        ("vm30", "fabric-peer.service"): 5000,
        ("vm30", r"system-medledger\x2dchaincode.slice"): 700,
        ("vm31", "fabric-orderer.service"): 300,
    }


def test_cpu_per_transaction_sums_the_kinds_and_bounds_the_rate() -> None:
    before = {("vm30", "fabric-peer.service"): 1_000, ("vm31", "fabric-peer.service"): 0}
    after = {
        ("vm30", "fabric-peer.service"): 101_000,
        ("vm31", "fabric-peer.service"): 50_000,
        ("vm31", "kafka.service"): 20_000,
    }
    profile = cpu_profile.per_transaction(before, after, own_ms=30.0, committed=10)
    assert profile["cpu_ms_per_transaction"] == {
        "fabric-peer": 15.0,
        cpu_profile.LOAD_GENERATOR: 3.0,
        "kafka": 2.0,
    }
    assert profile["by_host"]["fabric-peer"] == {"vm30": 10.0, "vm31": 5.0}
    assert profile["total_cpu_ms_per_transaction"] == 20.0
    assert profile["rate_the_cores_allow"] == pytest.approx((os.cpu_count() or 1) * 1000 / 20.0)


def test_idle_work_is_a_rate_and_what_an_add_costs_beyond_it_bounds_the_floor() -> None:
    quiet_before = {("vm30", "fabric-peer.service"): 0, ("vm31", "kafka.service"): 0}
    quiet_after = {("vm30", "fabric-peer.service"): 200_000, ("vm31", "kafka.service"): 100_000}
    idle = cpu_profile.idle_rates(quiet_before, quiet_after, seconds=10.0)
    assert idle == {"fabric-peer": 20.0, "kafka": 10.0}
    profile = {
        "committed": 1000,
        "cores": 2,
        "cpu_ms_per_transaction": {"fabric-peer": 10.2, "kafka": 0.1, cpu_profile.LOAD_GENERATOR: 3.0},
    }
    # 10 s of load: the peer idles through 200 of its 10,200 CPU-ms, Kafka through more than it used.
    split = cpu_profile.beyond_idle(profile, idle, seconds=10.0)
    assert split["marginal_cpu_ms_per_transaction"] == pytest.approx(
        {"fabric-peer": 10.0, cpu_profile.LOAD_GENERATOR: 3.0, "kafka": 0.0}
    )
    assert split["idle_total_cpu_ms_per_second"] == 30.0
    assert split["rate_the_cores_allow_beyond_idle"] == pytest.approx((2000 - 30) / 13.0)
    assert split["marginal_cpu_ms_the_paper_rate_allows"] == pytest.approx((2000 - 30) / 140)
    printed = cpu_profile.summary(
        {**profile, **split, "total_cpu_ms_per_transaction": 13.3, "rate_the_cores_allow": 150.4}
    )
    assert "fabric-peer                                 10.20     20.0        10.00" in printed
    assert printed.endswith("at most 150/s at the window's cost, 152/s once idle work has its share")


def test_a_window_without_commits_is_refused() -> None:
    with pytest.raises(ValueError, match="no transaction committed"):
        cpu_profile.per_transaction({}, {}, own_ms=1.0, committed=0)


def test_a_cpu_stat_without_usage_is_refused() -> None:
    assert cpu_profile.usage_usec(CPU_STAT.format(42)) == 42
    with pytest.raises(ValueError, match="no usage_usec"):
        cpu_profile.usage_usec("user_usec 1\n")
