"""Check the inventory's topology before any host is touched.

Runs on the control node only. Every problem is reported as one line naming the host or channel at fault
and the fix; the task fails when there is any.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from medledger_tools.artifacts import load_recipes
from medledger_tools.paths import REPO_ROOT
from medledger_tools.topology import from_ansible, validate

DOCUMENTATION = r"""
---
module: medledger_inventory_check
short_description: Validate MedLedger's topology as the inventory declares it
description:
  - Checks addresses, names and identifiers for duplicates, the ZooKeeper ensemble size, Kafka replication
    against the broker count, Kafka ordering against the pinned Fabric release, peers' organisations and
    channels, required host variables, names by Fabric's own rules, the Patient Channel's members, the
    services' hosts, and every host's listening ports for collisions.
  - Runs on the control node; contacts no host. Supports check mode.
options: {}
author: MedLedger
"""

EXAMPLES = r"""
- name: Check the inventory
  medledger_inventory_check:
"""

RETURN = r"""
errors:
  description: One line per problem found; empty when the inventory is sound.
  returned: always
  type: list
  elements: str
"""


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        topology = from_ansible(task_vars["hostvars"], task_vars["groups"])
        fabric = next(recipe for recipe in load_recipes(REPO_ROOT / "versions.yml") if recipe.name == "fabric")
        errors = validate(topology, fabric_version=fabric.version)
        result.update(changed=False, errors=errors)
        if errors:
            result.update(failed=True, msg="inventory is not valid:\n" + "\n".join(errors))
        else:
            result["msg"] = f"inventory is valid: {len(topology.hosts)} hosts"
        return result
