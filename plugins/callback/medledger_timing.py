"""Ansible callback: each task's wall time and each host's task counts, as JSON, for bench/deploy.py."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: medledger_timing
type: aggregate
short_description: Writes each task's wall time and each host's task counts to a JSON file
description:
  - When C(MEDLEDGER_TIMING_FILE) names a file, writes there, at the end of the run, every task with its wall
    time (from its start to its last host's result, what it adds to the run's duration under the linear
    strategy) and the number of hosts that ran it, and per host the tasks it ran, changed and skipped.
  - Without the variable it records nothing and writes nothing.
requirements:
  - Enabled in ansible.cfg (callbacks_enabled).
options: {}
"""

EXAMPLES = r"""
# MEDLEDGER_TIMING_FILE=/tmp/site.json ansible-playbook playbooks/site.yml
"""

RETURN = r""" # """


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "medledger_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.path = os.environ.get("MEDLEDGER_TIMING_FILE", "")
        self.started = time.monotonic()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.task_order: list[str] = []
        self.hosts: dict[str, Counter[str]] = {}

    def task_started(self, task: Any) -> None:
        if not self.path:
            return
        key = str(task._uuid)
        if key not in self.tasks:
            self.task_order.append(key)
            name = task.get_name().strip()
            self.tasks[key] = {"task": name, "role": str(task._role or ""), "seconds": 0.0, "hosts": 0}
        self.tasks[key]["begun"] = time.monotonic()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self.task_started(task)

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self.task_started(task)

    def record(self, result: Any, outcome: str) -> None:
        if not self.path:
            return
        entry = self.tasks.get(str(result._task._uuid))
        if entry is not None:
            entry["seconds"] = round(entry["seconds"] + time.monotonic() - entry.pop("begun", time.monotonic()), 3)
            entry["begun"] = time.monotonic()
            entry["hosts"] += 1 if outcome != "skipped" else 0
        counts = self.hosts.setdefault(result._host.get_name(), Counter())
        counts[outcome if outcome == "skipped" else "ran"] += 1
        if outcome == "ok" and result._result.get("changed", False):
            counts["changed"] += 1
        if outcome in ("failed", "unreachable"):
            counts[outcome] += 1

    def v2_runner_on_ok(self, result: Any) -> None:
        self.record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self.record(result, "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self.record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self.record(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self.path:
            return
        tasks = [{key: value for key, value in self.tasks[uuid].items() if key != "begun"} for uuid in self.task_order]
        report = {
            "seconds": round(time.monotonic() - self.started, 1),
            "tasks": tasks,
            "hosts": {host: dict(sorted(counts.items())) for host, counts in sorted(self.hosts.items())},
        }
        with open(self.path, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=1)
