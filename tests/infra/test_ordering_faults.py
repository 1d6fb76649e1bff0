"""Faults while transactions flow: ordering continues, and the nodes that were down catch up."""

from __future__ import annotations

import re

import pytest

from ..waiting import wait_until
from .conftest import deployed, lab_host
from .ordering import (
    heights,
    kafka_ordering,
    level_at_least,
    ordered_channels,
    orderers,
    system_channel,
    touch_config,
)
from .test_kafka import brokers, tool

pytestmark = pytest.mark.lab

TRANSACTIONS = 3


def topic_leader(channel: str) -> str:
    """The broker host leading the channel's topic partition: stopping it forces a leader election."""
    described = tool("kafka-topics", brokers()[0], f"--describe --topic {channel}")
    found = re.search(r"Leader: (\d+)", described)
    assert found, described
    return next(b for b in brokers() if int(deployed().hostvars[b]["kafka_broker_id"]) == int(found.group(1)))


def test_ordering_continues_with_nodes_down_and_they_catch_up() -> None:
    """Kafka: one orderer and the broker leading the channel's partition stop. Raft: one orderer of three
    stops (the leader or not; the others keep a majority)."""
    channel = system_channel() if kafka_ordering() else ordered_channels()[0]
    working, stopped_orderer = orderers()[0], orderers()[1]
    running = [o for o in orderers() if o != stopped_orderer]
    stopped = [(stopped_orderer, "fabric-orderer")] + ([(topic_leader(channel), "kafka")] if kafka_ordering() else [])
    before = heights(channel)
    assert len(set(before.values())) == 1, before
    for host, service in stopped:
        lab_host(host).check_output(f"systemctl stop {service}")
    try:
        for _ in range(TRANSACTIONS):
            touch_config(working, channel)
        # A submission refused while a leader was elected may still have been ordered: at least one block
        # per transaction, the same height on every running orderer.
        level = level_at_least(before[working] + TRANSACTIONS)
        during = wait_until(lambda: heights(channel, running), level)
        assert level(during), during
        target = during[working]
    finally:
        for host, service in reversed(stopped):
            lab_host(host).check_output(f"systemctl start {service}")
    after = wait_until(lambda: heights(channel), lambda found: set(found.values()) == {target})
    assert set(after.values()) == {target}, after
    if kafka_ordering():
        in_sync = wait_until(
            lambda: tool("kafka-topics", brokers()[0], f"--describe --topic {channel}"),
            lambda described: bool(re.search(r"Isr: \d+,\d+,\d+", described)),
        )
        assert re.search(r"Isr: \d+,\d+,\d+", in_sync), in_sync
