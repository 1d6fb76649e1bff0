"""Shared fixtures: the paper's topology, read from the inventory as Ansible reads it."""

from __future__ import annotations

import pytest

from medledger_tools import topology
from medledger_tools.paths import REPO_ROOT

PAPER_INVENTORY = str(REPO_ROOT / "inventories" / "paper")


@pytest.fixture(scope="session")
def paper() -> topology.Topology:
    return topology.load(PAPER_INVENTORY)
