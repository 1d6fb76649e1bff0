"""The load steps of bench/ledger.py (used by every rate benchmark): what counts as a failure, and why each
failed request failed."""

from __future__ import annotations

import itertools
import sys
import threading

from medledger_tools.paths import REPO_ROOT

# bench/ is not a package: its modules import each other by name.
sys.path.insert(0, str(REPO_ROOT / "bench"))

import ledger


def test_a_step_counts_refusals_and_slow_requests_by_reason() -> None:
    calls, guard = itertools.count(), threading.Lock()

    def operation() -> float:
        with guard:
            n = next(calls)
        if n % 4 == 1:
            raise RuntimeError(f"transaction {n:064x} invalid: MVCC_READ_CONFLICT\nmore detail")
        if n % 4 == 2:
            threading.Event().wait(0.3)  # slower than the step's timeout
        return 0.001

    step = ledger.run_step(operation, rate=40, seconds=1, timeout=0.2)
    assert step.failures == {
        "RuntimeError: transaction … invalid: MVCC_READ_CONFLICT": 10,
        "slower than 0.2 s": 10,
    }
    assert step.errors == 0.5
    assert step.submit_mean_ms == 1.0


def test_a_failure_kind_keeps_the_message_and_drops_identifiers() -> None:
    error = ValueError("share 0b8f2a0c-5d1e-4f7a-9c3b-2e6d8a1f4b7c was revoked")
    assert ledger.failure_kind(error) == "ValueError: share … was revoked"
    assert ledger.failure_kind(TimeoutError()) == "TimeoutError"


def test_a_step_that_keeps_up_reports_the_offered_rate_not_completions_over_the_drain() -> None:
    def half_a_second() -> float:
        threading.Event().wait(0.5)
        return 0.5

    step = ledger.run_step(half_a_second, rate=20, seconds=2, timeout=5)
    # 40 completions over 2.5 s of wall time would be 16/s.
    assert step.achieved == 20.0


def test_a_saturated_step_reports_what_the_system_completes_per_second() -> None:
    one_at_a_time = threading.Lock()

    def twenty_per_second() -> float:
        with one_at_a_time:
            threading.Event().wait(0.05)
        return 0.05

    step = ledger.run_step(twenty_per_second, rate=40, seconds=1, timeout=5)
    assert step.errors == 0
    assert 17 <= step.achieved <= 21
