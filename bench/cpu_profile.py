"""Where the time goes: CPU milliseconds per committed add-record transaction, for each kind of process.

An add-record load is offered at `--rate` for `--seconds` (bench/ledger.py's adds); before and after, the CPU
time of every systemd unit of every lab host is read from its cgroup (cpu.stat's usage_usec: the lab's hosts
are this machine's containers, so their units' cgroups are ours to read, and nothing crosses the network), and
the load generator's own from getrusage. Each unit's CPU time over the window, divided by the transactions that
committed in it, is its cost; their sum bounds the rate: a machine of N cores commits at most
N x 1000 / (CPU-ms per transaction) per second.

Part of that cost is paid whether or not anything is offered (gossip, Kafka's fetches, the runtimes' timers):
a quiet window first (`--idle-seconds`) measures each kind's idle CPU per second, and what a transaction costs
beyond it is its marginal cost. The floor then reads: N x 1000 - idle = rate x marginal.

  uv run python bench/cpu_profile.py [--rate 140] [--seconds 20] [--idle-seconds 10] [--out bench/results]

Writes cpu-profile.json.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cli
from ledger import ADD_TIMEOUT_S, PATIENT_CHANNEL, add, progress, run_step

from medledger_tools.lab_clients import Ledger, lab_topology

# Where docker puts its containers' cgroups: the hybrid hierarchy's v2 part, or a pure v2 hierarchy.
CGROUP_ROOTS = (Path("/sys/fs/cgroup/unified/docker"), Path("/sys/fs/cgroup/system.slice"))
LAB_CONTAINER_PREFIX = "medledger-lab-"
# Units that are the host's plumbing, not MedLedger's (journald is not: what the nodes log, it writes).
IGNORED_UNITS = ("ssh.service", "system-getty.slice", "system-modprobe.slice")
LOAD_GENERATOR = "load generator (this process)"
PAPER_ADD_TPS = 140.0
# After the warm-up, until every peer has committed its last block and the quiet window may open.
SETTLE_S = 3.0


def lab_containers() -> dict[str, str]:
    """Each running lab container's full ID -> its host name (vm30 ...)."""
    listing = subprocess.run(
        ["docker", "ps", "--no-trunc", "--filter", f"name=^{LAB_CONTAINER_PREFIX}", "--format", "{{.ID}} {{.Names}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {
        container: name.removeprefix(LAB_CONTAINER_PREFIX)
        for container, name in (line.split() for line in listing.splitlines())
    }


def container_cgroup(root: Path, container: str) -> Path:
    for candidate in (root / container, root / f"docker-{container}.scope"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no cgroup for container {container[:12]} under {root}")


def usage_usec(cpu_stat: str) -> int:
    """usage_usec out of a cgroup v2 cpu.stat."""
    for line in cpu_stat.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value)
    raise ValueError("cpu.stat has no usage_usec line")


def unit_usage(root: Path, containers: Mapping[str, str]) -> dict[tuple[str, str], int]:
    """(host, unit) -> CPU microseconds so far, for every MedLedger unit of every lab host."""
    found = {}
    for container, host in containers.items():
        units = container_cgroup(root, container) / "system.slice"
        for unit in sorted(units.iterdir()):
            if unit.is_dir() and unit.name not in IGNORED_UNITS and (unit / "cpu.stat").exists():
                found[(host, unit.name)] = usage_usec((unit / "cpu.stat").read_text())
    return found


def kind_of(unit: str) -> str:
    """A unit's kind: its name without instance and suffix, and a slice of instances (systemd names
    medledger-chaincode@x.service's slice system-medledger\\x2dchaincode.slice) by the template's name."""
    name = unit.split("@", 1)[0].removesuffix(".service").removesuffix(".slice").replace("\\x2d", "-")
    return name.removeprefix("system-") if unit.endswith(".slice") else name


def idle_rates(
    before: Mapping[tuple[str, str], int], after: Mapping[tuple[str, str], int], seconds: float
) -> dict[str, float]:
    """CPU-ms per second each kind of process spends with nothing offered."""
    rates: dict[str, float] = defaultdict(float)
    for key, used in after.items():
        rates[kind_of(key[1])] += (used - before.get(key, 0)) / 1000 / seconds
    return dict(sorted(rates.items(), key=lambda item: -item[1]))


def beyond_idle(profile: Mapping[str, Any], idle: Mapping[str, float], seconds: float) -> dict[str, Any]:
    """Each kind's cost per transaction beyond what it spends idle over the same `seconds`, and the rate the
    cores allow once idle work has taken its share; with it, the most a transaction may cost for the paper's
    rate."""
    committed = profile["committed"]
    marginal = {
        kind: max(0.0, spent - idle.get(kind, 0.0) * seconds / committed)
        for kind, spent in profile["cpu_ms_per_transaction"].items()
    }
    idle_total, marginal_total = sum(idle.values()), sum(marginal.values())
    spare = (profile["cores"] or 1) * 1000 - idle_total
    return {
        "idle_cpu_ms_per_second": dict(idle),
        "idle_total_cpu_ms_per_second": idle_total,
        "marginal_cpu_ms_per_transaction": dict(sorted(marginal.items(), key=lambda item: -item[1])),
        "marginal_total_cpu_ms_per_transaction": marginal_total,
        "rate_the_cores_allow_beyond_idle": spare / marginal_total,
        "marginal_cpu_ms_the_paper_rate_allows": spare / PAPER_ADD_TPS,
    }


def per_transaction(
    before: Mapping[tuple[str, str], int], after: Mapping[tuple[str, str], int], own_ms: float, committed: int
) -> dict[str, Any]:
    """CPU-ms per committed transaction by kind (and by host within it), the total, and the rate it allows."""
    if committed < 1:
        raise ValueError("no transaction committed in the window: nothing to divide by")
    by_kind: dict[str, float] = defaultdict(float)
    by_host: dict[str, dict[str, float]] = defaultdict(dict)
    for key, used in after.items():
        host, unit = key
        spent_ms = (used - before.get(key, 0)) / 1000 / committed
        by_kind[kind_of(unit)] += spent_ms
        by_host[kind_of(unit)][host] = by_host[kind_of(unit)].get(host, 0.0) + spent_ms
    by_kind[LOAD_GENERATOR] = own_ms / committed
    total = sum(by_kind.values())
    return {
        "committed": committed,
        "cpu_ms_per_transaction": dict(sorted(by_kind.items(), key=lambda item: -item[1])),
        "by_host": {kind: dict(sorted(hosts.items())) for kind, hosts in by_host.items()},
        "total_cpu_ms_per_transaction": total,
        "cores": os.cpu_count(),
        "rate_the_cores_allow": (os.cpu_count() or 1) * 1000 / total,
    }


def own_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def counting(operation: Callable[[], float]) -> tuple[Callable[[], float], Callable[[], int]]:
    """The operation, and how many calls of it returned (committed)."""
    count, guard = [0], threading.Lock()

    def counted() -> float:
        result = operation()
        with guard:
            count[0] += 1
        return result

    return counted, lambda: count[0]


def summary(profile: Mapping[str, Any]) -> str:
    """The profile as a table: each kind's cost per add, idle per second, beyond idle per add (CPU-ms)."""
    idle, marginal = profile["idle_cpu_ms_per_second"], profile["marginal_cpu_ms_per_transaction"]
    rows = [f"{'CPU-ms':40} {'per add':>8} {'idle/s':>8} {'beyond idle':>12}"]
    rows += [
        f"{kind:40} {spent:8.2f} {idle.get(kind, 0.0):8.1f} {marginal[kind]:12.2f}"
        for kind, spent in profile["cpu_ms_per_transaction"].items()
    ]
    totals = (
        profile["total_cpu_ms_per_transaction"],
        profile["idle_total_cpu_ms_per_second"],
        profile["marginal_total_cpu_ms_per_transaction"],
    )
    rows.append(f"{'total':40} {totals[0]:8.2f} {totals[1]:8.1f} {totals[2]:12.2f}")
    rows.append(
        f"at most {profile['rate_the_cores_allow']:.0f}/s at the window's cost, "
        f"{profile['rate_the_cores_allow_beyond_idle']:.0f}/s once idle work has its share"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    # The paper's rate, which saturates this machine: below saturation the runtimes' idle work is charged to
    # fewer adds (on the Kafka lab an add cost 19.4 CPU-ms at 100/s offered and 17.5 at 140/s).
    parser.add_argument("--rate", type=float, default=PAPER_ADD_TPS, help="adds offered per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured window")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="length of the quiet window before it")
    args = parser.parse_args(argv)
    deployed = lab_topology()
    ledger = Ledger(deployed)
    root = next(root for root in CGROUP_ROOTS if root.is_dir())
    containers = lab_containers()
    with tempfile.TemporaryDirectory() as folder:
        patient = ledger.new_client("OrgPatient", Path(folder), "pat-profile")
        with patient.gateway(ledger.channel_peers(PATIENT_CHANNEL)[0]) as gateway:
            records = gateway.contract(PATIENT_CHANNEL, ledger.chaincode_on(PATIENT_CHANNEL))
            one_add, committed = counting(add(patient, records, (f"CP-{n:07d}" for n in range(10**7))))
            run_step(one_add, min(args.rate, 10), 3, ADD_TIMEOUT_S)  # warm: connections, chaincode caches
            time.sleep(SETTLE_S)
            progress(f"nothing offered for {args.idle_seconds:g} s")
            quiet_start, quiet_before = time.monotonic(), unit_usage(root, containers)
            time.sleep(args.idle_seconds)
            idle = idle_rates(quiet_before, unit_usage(root, containers), time.monotonic() - quiet_start)
            progress(f"offering {args.rate:g} adds/s for {args.seconds:g} s")
            started, before = time.monotonic(), unit_usage(root, containers)
            own_before, committed_before = own_cpu_ms(), committed()
            step = run_step(one_add, args.rate, args.seconds, ADD_TIMEOUT_S)
            after, own_after, window = unit_usage(root, containers), own_cpu_ms(), time.monotonic() - started
    profile = per_transaction(before, after, own_after - own_before, committed() - committed_before)
    profile |= beyond_idle(profile, idle, window)
    results = {
        "consensus": str(deployed.global_var("medledger_consensus")),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "offered": args.rate,
        "seconds": args.seconds,
        "achieved": step.achieved,
        "errors": step.errors,
        **profile,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cpu-profile.json").write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
