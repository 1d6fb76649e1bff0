"""Table 4's harness (bench/client_ops.py): every operation timed for both methods, the paper's figure beside
it, written where the report reads it. No timing is asserted: the figures are the benchmark's output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from medledger_tools.paths import REPO_ROOT

# bench/ is not a package: its modules import each other by name.
sys.path.insert(0, str(REPO_ROOT / "bench"))

import client_ops


def test_a_quick_run_times_every_operation_of_both_methods(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert client_ops.main(["--quick", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "client-ops-quick.json").read_text())
    operations = written["operations"]["64KB"]
    assert set(operations) == set(client_ops.PAPER_TABLE_4)
    for name, row in operations.items():
        assert row["paper_table_4_ms"] == client_ops.PAPER_TABLE_4[name][0]
        assert (
            row["paper"]["runs"] == 2 and row["paper"]["p10_ms"] <= row["paper"]["median_ms"] <= row["paper"]["p90_ms"]
        )
        if name == "t_ea":
            assert "ours" not in row, "sharing encrypts no file again"
        else:
            assert row["paper_over_ours"] == pytest.approx(row["paper"]["median_ms"] / row["ours"]["median_ms"])
    printed = capsys.readouterr().out
    assert printed.count("| 64KB |") == len(client_ops.PAPER_TABLE_4)


def test_a_run_count_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        client_ops.main(["--runs", "0", "--out", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []
