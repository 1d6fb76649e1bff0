"""Network-safety guard: traffic may only go to loopback or to the lab's own containers.

The paper's addresses (172.20.29.0/24) are ordinary routable private addresses. They are our test
hosts only while the lab network exists and a lab container holds the address; otherwise a packet to
them leaves the machine through the default route. Every tool that opens a connection calls
`assert_lab_target` first.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Mapping
from typing import Any

LAB_LABEL = "org.medledger.lab"
LAB_LABEL_FILTER = f"{LAB_LABEL}=true"
HOST_LABEL = "org.medledger.lab.host"
LAB_NETWORK = "medledger-lab"
DOCKER_SOCKET = "/var/run/docker.sock"
# Another path for the local engine's socket. Tests point it at a path that does not exist, so that
# the lab is down whatever the machine runs.
DOCKER_SOCKET_ENV = "MEDLEDGER_DOCKER_SOCKET"
CONTAINER_PREFIX = "medledger-lab-"

# docker-py ships no type information; the client is duck-typed (tests pass a fake).
DockerClient = Any

# Long enough to spare the engine one query per connection, short enough that an address is not
# trusted for long after `down` removed the container that held it. The cache holds its client, so
# answers about one engine (or one test fake) are never reused for another.
_CACHE_SECONDS = 5.0
_cache: tuple[DockerClient, float, dict[str, str]] | None = None


class NotLabTargetError(RuntimeError):
    """Raised when an address is neither loopback nor a running lab container."""


class LabNotUpError(NotLabTargetError):
    """Raised when an inventory host's address is not a running lab container: the lab is not up."""


def docker_socket() -> str:
    """The local engine's socket: $MEDLEDGER_DOCKER_SOCKET if set, else /var/run/docker.sock."""
    return os.environ.get(DOCKER_SOCKET_ENV) or DOCKER_SOCKET


def clear_cache() -> None:
    """Forget the addresses learnt from the engine (call after changing the lab)."""
    global _cache  # noqa: PLW0603 - the cache is deliberately process-wide
    _cache = None


def _is_ours(labels: dict[str, str] | None) -> bool:
    return (labels or {}).get(LAB_LABEL) == "true"


def _lab_network_ids(client: DockerClient) -> set[str]:
    # The engine allows two networks with one name, so the name alone proves nothing: the network
    # must also carry our label, and containers are matched by network id below.
    networks = client.networks.list(names=[LAB_NETWORK], filters={"label": LAB_LABEL_FILTER})
    return {str(net.id) for net in networks if net.name == LAB_NETWORK and _is_ours(net.attrs.get("Labels"))}


def _container_host(container: Any) -> str:
    labels: dict[str, str] = container.labels or {}
    host = labels.get(HOST_LABEL)
    if host:
        return host
    return str(container.name).removeprefix(CONTAINER_PREFIX)


def _query_lab_addresses(client: DockerClient) -> dict[str, str]:
    network_ids = _lab_network_ids(client)
    if not network_ids:
        return {}
    found: dict[str, str] = {}
    # Server-side filters only narrow the list; every condition is checked again here so that a
    # filter the engine ignores cannot turn a stranger into a target.
    containers = client.containers.list(filters={"label": LAB_LABEL_FILTER, "status": "running"})
    for container in containers:
        if container.status != "running" or not _is_ours(container.labels):
            continue
        endpoint = container.attrs.get("NetworkSettings", {}).get("Networks", {}).get(LAB_NETWORK)
        if not endpoint or endpoint.get("NetworkID") not in network_ids:
            continue
        address = endpoint.get("IPAddress")
        if address:
            found[_container_host(container)] = str(address)
    return found


def _default_client() -> DockerClient:
    import docker  # noqa: PLC0415 - only needed when the caller brings no client

    # The local engine, whatever DOCKER_HOST says: only its containers are reachable from here.
    return docker.DockerClient(base_url=f"unix://{docker_socket()}")


def lab_addresses(client: DockerClient | None = None, *, refresh: bool = False) -> dict[str, str]:
    """Inventory hostname -> IPv4 address of every running lab container."""
    global _cache  # noqa: PLW0603 - the cache is deliberately process-wide
    now = time.monotonic()
    fresh = _cache is not None and not refresh and now - _cache[1] < _CACHE_SECONDS
    if fresh and _cache is not None and (client is None or client is _cache[0]):
        return dict(_cache[2])
    if client is None:
        client = _cache[0] if _cache is not None else _default_client()
    found = _query_lab_addresses(client)
    _cache = (client, now, found)
    return dict(found)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        raise NotLabTargetError(f"refusing to contact {address!r}: not an IP address") from None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def assert_lab_target(address: str, client: DockerClient | None = None) -> None:
    """Raise NotLabTargetError unless `address` is loopback or a running lab container."""
    parsed = _parse(address)
    if parsed.is_loopback:
        return
    if isinstance(parsed, ipaddress.IPv4Address):
        try:
            known = set(lab_addresses(client).values())
            if str(parsed) not in known:
                # A container started since the cache was filled must not be refused.
                known = set(lab_addresses(client, refresh=True).values())
        except Exception as exc:
            raise NotLabTargetError(
                f"refusing to contact {address}: cannot ask the Docker engine which addresses are "
                f"lab containers ({type(exc).__name__})"
            ) from exc
        if str(parsed) in known:
            return
    raise NotLabTargetError(
        f"refusing to contact {address}: it is neither loopback nor a running container of the "
        f"'{LAB_NETWORK}' lab network"
    )


def _normalise(address: str) -> str:
    try:
        return str(_parse(address))
    except NotLabTargetError:
        return address


def assert_lab_up(hosts: Mapping[str, Any], client: DockerClient | None = None) -> None:
    """Raise LabNotUpError, one line naming the first host at fault and the fix, unless every host's
    address (inventory hostname -> ansible_host) is a running lab container on the lab network.

    An engine that cannot be asked (not running, socket absent) means the lab is down: a refusal too.
    """
    if not hosts:
        return
    engine = ""
    try:
        running = set(lab_addresses(client, refresh=True).values())
    except Exception as exc:  # docker-py raises many kinds; any of them means "cannot tell": refuse
        running = set()
        engine = f" (no Docker engine answers at {docker_socket()}: {type(exc).__name__})"
    for host, address in hosts.items():
        if not address:
            raise LabNotUpError(f"lab check: {host} has no ansible_host; give it its lab container's address")
        if _normalise(str(address)) not in running:
            raise LabNotUpError(
                f"lab is not up: {host} ({address}) is not a running lab container{engine}; run make lab-up"
            )
