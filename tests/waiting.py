"""A bounded wait the lab's and the cluster's tests share: a replica (a peer, an orderer) catches up in its own
time, and a test reads it until it has, or until time is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

Value = TypeVar("Value")


def wait_until(read: Callable[[], Value], done: Callable[[Value], bool], seconds: int = 120) -> Value:
    """Read until `done` holds or time runs out; returns the last reading either way."""
    deadline = time.monotonic() + seconds
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(2)
        value = read()
    return value
