"""make test's stage times: recorded per stage, reported beside their budgets, a warning per stage over."""

from __future__ import annotations

from pathlib import Path

from medledger_tools import stages
from medledger_tools.paths import REPO_ROOT


def test_a_stage_over_its_budget_is_named_in_a_warning_and_failures_show(tmp_path: Path) -> None:
    times = tmp_path / "stages.json"
    stages.record("lint", 65.0, 0, times)
    stages.record("infra", 1300.4, 1, times)
    table, warnings = stages.report(stages.load_times(times), {"lint": 120, "infra": 1200, "total": 1500})
    assert table.splitlines() == [
        "stage           time  budget",
        "lint            1:05    2:00",
        "infra          21:40   20:00  failed",
        "total          22:45   25:00  failed",
    ]
    assert warnings == ["warning: stage infra took 21:40, over its budget of 20:00"]


def test_a_rerun_stage_keeps_its_latest_time(tmp_path: Path) -> None:
    times = tmp_path / "stages.json"
    stages.record("unit", 300.0, 1, times)
    stages.record("unit", 200.0, 0, times)
    assert stages.load_times(times) == {"unit": {"seconds": 200.0, "returncode": 0}}


def test_the_budgets_file_names_every_stage_of_make_test() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    recorded = {line.split()[1] for line in makefile.splitlines() if line.startswith("\t$(STAGE) ")}
    assert recorded == {"lint", "unit", "k8s", "up", "infra", "infra-migrate"}
    assert set(stages.load_budgets()) == recorded | {stages.TOTAL}
