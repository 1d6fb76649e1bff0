"""Where the time goes: CPU milliseconds per committed add-record transaction, for each kind of process.

An add-record load is offered at `--rate` for `--seconds` (bench/ledger.py's adds); before and after, the CPU
time of every systemd unit of every lab host is read from its cgroup (cpu.stat's usage_usec: the lab's hosts
are this machine's containers, so their units' cgroups are ours to read, and nothing crosses the network), and
the load generator's own from getrusage. Each unit's CPU time over the window, divided by the transactions that
committed in it, is its cost; their sum bounds the rate: a machine of N cores commits at most
N x 1000 / (CPU-ms per transaction) per second.

  uv run python bench/cpu_profile.py [--rate 100] [--seconds 20] [--out bench/results]

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


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="adds offered per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured window")
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
            progress(f"offering {args.rate:g} adds/s for {args.seconds:g} s")
            before, own_before, committed_before = unit_usage(root, containers), own_cpu_ms(), committed()
            step = run_step(one_add, args.rate, args.seconds, ADD_TIMEOUT_S)
            after, own_after = unit_usage(root, containers), own_cpu_ms()
    profile = per_transaction(before, after, own_after - own_before, committed() - committed_before)
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
    for kind, spent in results["cpu_ms_per_transaction"].items():
        print(f"{kind:40} {spent:6.2f} CPU-ms per committed add")
    total, allowed = results["total_cpu_ms_per_transaction"], results["rate_the_cores_allow"]
    print(f"{'total':40} {total:6.2f} -> at most {allowed:.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
