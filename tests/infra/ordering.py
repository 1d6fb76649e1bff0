"""Helpers for the ordering service's tests: the orderers' admin command and their chains' heights."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from ..waiting import wait_until
from .conftest import deployed, lab_host, role_var

Value = TypeVar("Value")


def orderers() -> list[str]:
    return deployed().members("orderers")


def kafka_ordering() -> bool:
    return bool(deployed().global_var("medledger_consensus") == "kafka")


def system_channel() -> str:
    return str(role_var("fabric_orderer", "fabric_orderer_system_channel", orderers()[0]))


def ordered_channels() -> list[str]:
    """The channels the orderers serve after site.yml: every channel of the inventory, and with Kafka the
    system channel through which the peers' organisations created them."""
    application = [str(channel["name"]) for channel in deployed().global_var("medledger_channels")]
    return sorted(application + ([system_channel()] if kafka_ordering() else []))


def orderer_admin(orderer: str, *args: str) -> str:
    """medledger-orderer-admin on an orderer host; raises with its message when it fails."""
    return str(lab_host(orderer).check_output("medledger-orderer-admin " + " ".join(args))).strip()


def touch_config(orderer: str, channel: str, seconds: int = 90) -> None:
    """Submit a no-op configuration update through `orderer`, retrying while the ordering service says it
    is unavailable (as clients do while Raft elects a leader or Kafka moves a partition's leader)."""
    deadline = time.monotonic() + seconds
    while True:
        result = lab_host(orderer).run(f"medledger-orderer-admin touch-config {channel}")
        if result.rc == 0:
            return
        assert "SERVICE_UNAVAILABLE" in result.stderr and time.monotonic() < deadline, result.stderr
        time.sleep(3)


def height(orderer: str, channel: str) -> int:
    """The channel's height at the orderer, or -1 when the orderer does not answer."""
    result = lab_host(orderer).run(f"medledger-orderer-admin height {channel}")
    return int(result.stdout) if result.rc == 0 else -1


def heights(channel: str, among: list[str] | None = None) -> dict[str, int]:
    return {orderer: height(orderer, channel) for orderer in among or orderers()}


def level_at_least(target: int) -> Callable[[dict[str, int]], bool]:
    """Every orderer at one height, and at least `target`."""
    return lambda found: len(set(found.values())) == 1 and min(found.values()) >= target


def assert_every_orderer_serves_at_one_height() -> None:
    """Every orderer serves every channel at the others' height, and on Raft is an active consenter of it."""
    for channel in ordered_channels():
        if not kafka_ordering():
            relations = {orderer: orderer_admin(orderer, "relation", channel) for orderer in orderers()}
            assert relations == dict.fromkeys(orderers(), "consenter active"), channel
        reached = wait_until(partial(heights, channel), level_at_least(max(heights(channel).values())))
        assert len(set(reached.values())) == 1, (channel, reached)
