"""The network-safety guard: only loopback and running lab containers on the lab network pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from medledger_tools import labsafety
from medledger_tools.labsafety import NotLabTargetError, assert_lab_target, lab_addresses

OURS = {"org.medledger.lab": "true"}
LAB_NET_ID = "0123456789ab-lab"
OTHER_NET_ID = "fedcba987654-other"


class FakeNetwork:
    def __init__(self, name: str, net_id: str, labels: dict[str, str]) -> None:
        self.name, self.id = name, net_id
        self.attrs: dict[str, Any] = {"Labels": labels}


class FakeContainer:
    def __init__(
        self, name: str, labels: dict[str, str], networks: dict[str, tuple[str, str]], status: str = "running"
    ) -> None:
        self.name, self.labels, self.status = name, labels, status
        endpoints = {net: {"NetworkID": net_id, "IPAddress": ip} for net, (net_id, ip) in networks.items()}
        self.attrs: dict[str, Any] = {"NetworkSettings": {"Networks": endpoints}}


class FakeCollection:
    """Returns everything whatever the filters: the guard must not rely on the engine filtering."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.calls = 0

    def list(self, **_: Any) -> list[Any]:
        self.calls += 1
        return list(self.items)


class FakeClient:
    def __init__(self, networks: list[FakeNetwork], containers: list[FakeContainer]) -> None:
        self.networks = FakeCollection(networks)
        self.containers = FakeCollection(containers)


class BrokenClient:
    """An engine that cannot be asked: every use fails."""

    @property
    def networks(self) -> Any:
        raise ConnectionError("engine down")

    containers = networks


def lab_container(host: str, ip: str, **kwargs: Any) -> FakeContainer:
    networks = kwargs.pop("networks", {"medledger-lab": (LAB_NET_ID, ip)})
    labels = kwargs.pop("labels", {**OURS, "org.medledger.lab.host": host})
    return FakeContainer(f"medledger-lab-{host}", labels, networks, **kwargs)


def lab_client(*containers: FakeContainer) -> FakeClient:
    networks = [
        FakeNetwork("medledger-lab", LAB_NET_ID, OURS),
        FakeNetwork("bridge", OTHER_NET_ID, {}),
    ]
    return FakeClient(networks, list(containers))


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    labsafety.clear_cache()
    yield
    labsafety.clear_cache()


@pytest.mark.parametrize("address", ["127.0.0.1", "127.42.0.9", "::1", "::ffff:127.0.0.1"])
def test_loopback_passes_without_asking_the_engine(address: str) -> None:
    assert_lab_target(address, BrokenClient())


def test_running_lab_container_passes() -> None:
    client = lab_client(lab_container("vm30", "172.20.29.30"), lab_container("vm31", "172.20.29.31"))
    assert_lab_target("172.20.29.31", client)
    assert lab_addresses(client) == {"vm30": "172.20.29.30", "vm31": "172.20.29.31"}


@pytest.mark.parametrize("address", ["8.8.8.8", "10.0.0.1", "172.20.29.99", "192.0.2.2"])
def test_addresses_outside_the_lab_are_refused(address: str) -> None:
    client = lab_client(lab_container("vm30", "172.20.29.30"))
    with pytest.raises(NotLabTargetError) as refused:
        assert_lab_target(address, client)
    assert str(refused.value) == (
        f"refusing to contact {address}: it is neither loopback nor a running container of the "
        "'medledger-lab' lab network"
    )


def test_container_without_our_label_is_refused() -> None:
    stranger = lab_container("vm40", "172.20.29.40", labels={"org.medledger.lab.host": "vm40"})
    client = lab_client(lab_container("vm30", "172.20.29.30"), stranger)
    with pytest.raises(NotLabTargetError, match=r"refusing to contact 172\.20\.29\.40: it is neither"):
        assert_lab_target("172.20.29.40", client)
    assert lab_addresses(client) == {"vm30": "172.20.29.30"}


def test_our_container_on_another_network_is_refused() -> None:
    elsewhere = lab_container("vm30", "172.17.0.2", networks={"bridge": (OTHER_NET_ID, "172.17.0.2")})
    with pytest.raises(NotLabTargetError, match=r"refusing to contact 172\.17\.0\.2: it is neither"):
        assert_lab_target("172.17.0.2", lab_client(elsewhere))


def test_network_named_like_ours_without_our_label_does_not_count() -> None:
    impostor_net = FakeNetwork("medledger-lab", "impostor-net", {})
    container = lab_container("vm30", "172.20.29.30", networks={"medledger-lab": ("impostor-net", "172.20.29.30")})
    client = FakeClient([impostor_net], [container])
    with pytest.raises(NotLabTargetError, match=r"refusing to contact 172\.20\.29\.30"):
        assert_lab_target("172.20.29.30", client)


def test_stopped_lab_container_is_refused() -> None:
    client = lab_client(lab_container("vm30", "172.20.29.30", status="exited"))
    with pytest.raises(NotLabTargetError, match=r"refusing to contact 172\.20\.29\.30"):
        assert_lab_target("172.20.29.30", client)


def test_unreachable_engine_refuses_rather_than_guessing() -> None:
    with pytest.raises(NotLabTargetError) as refused:
        assert_lab_target("172.20.29.30", BrokenClient())
    assert str(refused.value) == (
        "refusing to contact 172.20.29.30: cannot ask the Docker engine which addresses are lab "
        "containers (ConnectionError)"
    )


def test_host_names_are_refused() -> None:
    with pytest.raises(NotLabTargetError, match=r"refusing to contact 'example\.org': not an IP address"):
        assert_lab_target("example.org", lab_client())


def test_cache_is_refreshed_when_an_address_is_missing() -> None:
    client = lab_client()
    assert lab_addresses(client) == {}
    client.containers.items.append(lab_container("vm30", "172.20.29.30"))
    assert_lab_target("172.20.29.30", client)


def test_cache_is_not_shared_between_engines() -> None:
    ours = lab_client(lab_container("vm30", "172.20.29.30"))
    assert_lab_target("172.20.29.30", ours)
    with pytest.raises(NotLabTargetError):
        assert_lab_target("172.20.29.30", lab_client())
