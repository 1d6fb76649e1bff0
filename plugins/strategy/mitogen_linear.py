"""Ansible strategy: the linear strategy, its tasks run through Mitogen (the project's default, ansible.cfg).

Mitogen keeps one Python interpreter per host for the whole run and sends modules over it, instead of a
new SSH command and interpreter per task and host: a re-run that changes nothing takes a third of the
time (bench/results/deploy.json). Ansible-core 2.19 warns that third-party strategies are deprecated; if a
later ansible-core refuses this one, `ANSIBLE_STRATEGY=linear` runs every playbook as before.
"""

from __future__ import annotations

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Ansible's linear strategy over Mitogen's persistent connections
description:
  - Runs tasks as the linear strategy does (each task on every host before the next), with Mitogen's
    connection and module runner, from the pinned mitogen package.
  - Switch it off with C(ANSIBLE_STRATEGY=linear) (or a play's C(strategy) keyword).
author: MedLedger
"""

__all__ = ["StrategyModule"]
