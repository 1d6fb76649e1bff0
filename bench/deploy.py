"""How long the deployment makes an operator wait, printed beside the goals of issue 13 and the figures
measured before it.

  uv run python bench/deploy.py [--out bench/results]

Stages, each timed on its own: `make artifacts` (warm caches), the lab torn down and brought up from its
cached images, the first `site.yml` on that fresh lab, and a second `site.yml` that must change nothing.
Both playbook runs record every task's wall time (plugins/callback/medledger_timing.py): the 20 slowest
and the tasks each host ran go into bench/results/deploy.json. The times of the stages of the last
`make test` (medledger-stages) are added when there are any. Tears down a running lab: run it alone.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cli

from medledger_tools import stages
from medledger_tools.paths import REPO_ROOT

# Issue 13's goals, and what it measured before (2-core machine, warm build caches; the lab's 1.5 minutes
# included building its images, the first site.yml was "about 10" minutes).
GOALS: dict[str, float | None] = {"first_site_s": 480.0, "noop_site_s": 90.0, "make_test_s": 2400.0}
BEFORE: dict[str, float | None] = {
    "artifacts_s": None,
    "lab_up_s": 90.0,
    "first_site_s": 600.0,
    "noop_site_s": 452.0,
    "make_test_s": 3403.0,
}
SLOWEST = 20


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def timed(label: str, command: list[str], env: dict[str, str] | None = None) -> float:
    progress(f"{label}: {' '.join(command)}")
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"bench: {label} failed (exit {result.returncode}) after {seconds:.0f} s")
    progress(f"{label}: {seconds:.0f} s")
    return round(seconds, 1)


def site(label: str) -> dict[str, Any]:
    """One site.yml run, with its task timings."""
    with tempfile.TemporaryDirectory() as scratch:
        timings = Path(scratch) / "timings.json"
        env = dict(os.environ, MEDLEDGER_TIMING_FILE=str(timings))
        seconds = timed(label, ["uv", "run", "--frozen", "ansible-playbook", "playbooks/site.yml"], env)
        recorded = json.loads(timings.read_text())
    slowest = sorted(recorded["tasks"], key=lambda task: task["seconds"], reverse=True)[:SLOWEST]
    return {"seconds": seconds, "slowest_tasks": slowest, "hosts": recorded["hosts"]}


def seconds(value: float | None) -> str:
    return f"{value:.0f} s" if value is not None else "-"


def table(results: dict[str, Any]) -> str:
    rows = [
        ("make artifacts (warm)", results["artifacts_s"], BEFORE["artifacts_s"], None),
        ("lab up", results["lab_up_s"], BEFORE["lab_up_s"], None),
        ("first site.yml, fresh lab", results["first_site"]["seconds"], BEFORE["first_site_s"], GOALS["first_site_s"]),
        ("no-op site.yml", results["noop_site"]["seconds"], BEFORE["noop_site_s"], GOALS["noop_site_s"]),
    ]
    if results.get("make_test_s"):
        rows.append(("make test (last run)", results["make_test_s"], BEFORE["make_test_s"], GOALS["make_test_s"]))
    lines = [f"{'stage':<28} {'now':>8} {'before':>8} {'goal':>8}"]
    for name, now, before, goal in rows:
        lines.append(f"{name:<28} {now:>6.0f} s {seconds(before):>8} {seconds(goal):>8}")
    busiest = max(results["noop_site"]["hosts"].items(), key=lambda item: item[1].get("ran", 0))
    lines.append(f"no-op run: {busiest[1].get('ran', 0)} tasks ran on the busiest host ({busiest[0]}), "
                 f"{sum(h.get('changed', 0) for h in results['noop_site']['hosts'].values())} changed")  # fmt: skip
    lines.append("slowest tasks of the no-op run:")
    for task in results["noop_site"]["slowest_tasks"][:10]:
        lines.append(f"  {task['seconds']:6.1f} s  {task['role'] or '-':<16} {task['task']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    args = parser.parse_args(argv)

    results: dict[str, Any] = {
        "measured": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "goals": GOALS,
        "before": BEFORE,
    }
    results["artifacts_s"] = timed("make artifacts", ["make", "--no-print-directory", "artifacts"])
    timed("lab down", ["uv", "run", "--frozen", "medledger-lab", "down"])
    results["lab_up_s"] = timed("lab up", ["uv", "run", "--frozen", "medledger-lab", "up"])
    timed("lab check", ["uv", "run", "--frozen", "medledger-lab", "check"])
    results["first_site"] = site("first site.yml")
    results["noop_site"] = site("no-op site.yml")
    last_test = stages.load_times()
    if last_test:
        results["make_test_stages"] = last_test
        results["make_test_s"] = round(sum(float(str(entry["seconds"])) for entry in last_test.values()), 1)

    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "deploy.json"
    target.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    progress(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
