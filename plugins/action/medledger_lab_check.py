"""Refuse to run against the lab unless it is up.

The lab's addresses (the paper's 172.20.29.0/24) are ordinary routable addresses: while the lab is down,
SSH to them would leave this machine through the default route, to hosts that are not ours. Runs on the
control node first (playbooks/validate.yml, when the inventory sets `medledger_lab`), before any fact
gathering or task on a host.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from medledger_tools.labsafety import NotLabTargetError, assert_lab_up

DOCUMENTATION = r"""
---
module: medledger_lab_check
short_description: Refuse to run against the lab unless every inventory host is a running lab container
description:
  - Asks the local Docker engine which addresses running containers of the C(medledger-lab) network
    hold, and fails unless every inventory host's C(ansible_host) is one of them.
  - A Docker engine that is not running, or whose socket is absent, means the lab is down and fails too.
  - The message is one line naming the first host at fault and the fix, e.g.
    C(lab is not up: vm30 (172.20.29.30) is not a running lab container; run make lab-up).
  - Runs on the control node; contacts no host. Supports check mode.
  - C(MEDLEDGER_DOCKER_SOCKET) names another socket path for the engine (tests use a path that does
    not exist).
options: {}
author: MedLedger
"""

EXAMPLES = r"""
- name: Check that the lab is up
  medledger_lab_check:
  when: medledger_lab | default(false) | bool
"""

RETURN = r"""
hosts:
  description: Inventory hostname -> C(ansible_host) of every host checked.
  returned: always
  type: dict
"""


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars["hostvars"]
        hosts = {}
        for host in task_vars["groups"].get("all", []):
            address = hostvars[host].get("ansible_host")
            hosts[str(host)] = str(address) if address else ""
        result.update(changed=False, hosts=hosts)
        try:
            assert_lab_up(hosts)
        except NotLabTargetError as exc:
            result.update(failed=True, msg=str(exc))
        else:
            result["msg"] = f"lab is up: {len(hosts)} hosts are running lab containers"
        return result
