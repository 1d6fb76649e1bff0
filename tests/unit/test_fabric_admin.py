"""The orderer admin command's no-op configuration change: the same duration, written another way."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from medledger_tools.paths import REPO_ROOT


def admin_command() -> ModuleType:
    path = REPO_ROOT / "roles" / "fabric_admin" / "files" / "medledger_fabric_admin.py"
    spec = importlib.util.spec_from_file_location("medledger_fabric_admin", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("before", "after"),
    [("2s", "2000ms"), ("2000ms", "2000000us"), ("2000000us", "2000ms"), ("1m", "60s"), ("1h", "60m")],
)
def test_batch_timeout_is_rewritten_in_another_unit(before: str, after: str) -> None:
    assert admin_command().rewritten(before) == after


def test_a_duration_it_cannot_read_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^BatchTimeout '2.5s' is not a whole number of us, ms, s, m or h$"):
        admin_command().rewritten("2.5s")
