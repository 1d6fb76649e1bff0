"""Times the stages of `make test` and warns about a stage that outgrew its budget.

  medledger-stages reset                     forget the previous run's times
  medledger-stages run NAME -- COMMAND...    run a stage, record its wall time (also when it fails)
  medledger-stages report                    the stages' times beside their budgets (bench/stage-budgets.yml)

The budgets keep the whole suite well inside CI's 90 minutes while the system grows: a stage over its
budget prints a warning that names it (the run still passes; the note of the issue that grew it says why).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .paths import REPO_ROOT

TIMES = REPO_ROOT / ".cache" / "stages.json"
BUDGETS = REPO_ROOT / "bench" / "stage-budgets.yml"
TOTAL = "total"


def load_times(path: Path = TIMES) -> dict[str, dict[str, object]]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def record(name: str, seconds: float, returncode: int, path: Path = TIMES) -> None:
    times = load_times(path)
    times[name] = {"seconds": round(seconds, 1), "returncode": returncode}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(times, indent=1) + "\n")


def load_budgets(path: Path = BUDGETS) -> dict[str, float]:
    return {str(name): float(seconds) for name, seconds in (yaml.safe_load(path.read_text()) or {}).items()}


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def report(times: dict[str, dict[str, object]], budgets: dict[str, float]) -> tuple[str, list[str]]:
    """The table of stages (time, budget, status), and a warning per stage over its budget."""
    total = sum(float(str(entry["seconds"])) for entry in times.values())
    rows = [(name, float(str(entry["seconds"])), int(str(entry["returncode"]))) for name, entry in times.items()]
    rows.append((TOTAL, total, max((code for _n, _s, code in rows), default=0)))
    lines, warnings = [f"{'stage':<12} {'time':>7} {'budget':>7}"], []
    for name, seconds, code in rows:
        budget = budgets.get(name)
        over = budget is not None and seconds > budget
        status = "failed" if code else ("OVER BUDGET" if over else "")
        shown = minutes(budget) if budget is not None else "-"
        lines.append(f"{name:<12} {minutes(seconds):>7} {shown:>7}  {status}".rstrip())
        if over and budget is not None:
            warnings.append(f"warning: stage {name} took {minutes(seconds)}, over its budget of {minutes(budget)}")
    return "\n".join(lines), warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-stages", description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reset")
    run = commands.add_parser("run")
    run.add_argument("name")
    run.add_argument("stage_command", nargs=argparse.REMAINDER)
    commands.add_parser("report")
    args = parser.parse_args(argv)
    if args.command == "reset":
        TIMES.unlink(missing_ok=True)
        return 0
    if args.command == "run":
        command = args.stage_command[1:] if args.stage_command[:1] == ["--"] else args.stage_command
        if not command:
            parser.error("run needs a command after --")
        started = time.monotonic()
        returncode = subprocess.run(command, check=False).returncode
        record(args.name, time.monotonic() - started, returncode)
        print(f"stage {args.name}: {minutes(time.monotonic() - started)}", file=sys.stderr, flush=True)
        return returncode
    table, warnings = report(load_times(), load_budgets())
    print(table)
    for warning in warnings:
        print(warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
