"""Faults while transactions flow: ordering continues, and the nodes that were down catch up."""

from __future__ import annotations

import re

import pytest

from .conftest import deployed, lab_host
from .ordering import heights, kafka_ordering, orderer_admin, orderers, system_channel, wait_until
from .test_kafka import brokers, tool

pytestmark = pytest.mark.lab

TRANSACTIONS = 3


def topic_leader(channel: str) -> str:
    """The broker host leading the channel's topic partition: stopping it forces a leader election."""
    described = tool("kafka-topics", brokers()[0], f"--describe --topic {channel}")
    found = re.search(r"Leader: (\d+)", described)
    assert found, described
    return next(b for b in brokers() if int(deployed().hostvars[b]["kafka_broker_id"]) == int(found.group(1)))


def test_ordering_continues_without_a_broker_and_an_orderer_and_they_catch_up() -> None:
    if not kafka_ordering():
        pytest.skip("Raft ordering")
    channel = system_channel()
    working, stopped_orderer = orderers()[0], orderers()[1]
    running = [o for o in orderers() if o != stopped_orderer]
    stopped_broker = topic_leader(channel)
    before = heights(channel)
    assert len(set(before.values())) == 1, before
    lab_host(stopped_orderer).check_output("systemctl stop fabric-orderer")
    lab_host(stopped_broker).check_output("systemctl stop kafka")
    try:
        for _ in range(TRANSACTIONS):
            orderer_admin(working, "touch-config", channel)
        target = before[working] + TRANSACTIONS
        during = wait_until(lambda: heights(channel, running), lambda found: set(found.values()) == {target})
        assert set(during.values()) == {target}, during
    finally:
        lab_host(stopped_broker).check_output("systemctl start kafka")
        lab_host(stopped_orderer).check_output("systemctl start fabric-orderer")
    after = wait_until(lambda: heights(channel), lambda found: set(found.values()) == {target})
    assert set(after.values()) == {target}, after
    in_sync = wait_until(
        lambda: tool("kafka-topics", brokers()[0], f"--describe --topic {channel}"),
        lambda described: bool(re.search(r"Isr: \d+,\d+,\d+", described)),
    )
    assert re.search(r"Isr: \d+,\d+,\d+", in_sync), in_sync
