"""Helpers for the ordering service's tests: the orderers' admin command and their chains' heights."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from .conftest import deployed, lab_host, role_var

Value = TypeVar("Value")


def orderers() -> list[str]:
    return deployed().members("orderers")


def kafka_ordering() -> bool:
    return bool(deployed().global_var("medledger_consensus") == "kafka")


def system_channel() -> str:
    return str(role_var("fabric_orderer", "fabric_orderer_system_channel", orderers()[0]))


def orderer_admin(orderer: str, *args: str) -> str:
    """medledger-orderer-admin on an orderer host; raises with its message when it fails."""
    return str(lab_host(orderer).check_output("medledger-orderer-admin " + " ".join(args))).strip()


def height(orderer: str, channel: str) -> int:
    """The channel's height at the orderer, or -1 when the orderer does not answer."""
    result = lab_host(orderer).run(f"medledger-orderer-admin height {channel}")
    return int(result.stdout) if result.rc == 0 else -1


def heights(channel: str, among: list[str] | None = None) -> dict[str, int]:
    return {orderer: height(orderer, channel) for orderer in among or orderers()}


def wait_until(read: Callable[[], Value], done: Callable[[Value], bool], seconds: int = 120) -> Value:
    """Read until `done` holds or time runs out; returns the last reading either way."""
    deadline = time.monotonic() + seconds
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(2)
        value = read()
    return value
