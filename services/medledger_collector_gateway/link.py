"""The gateway on one uplink: frames in, the gateway's answers out, until the link closes or `stop` is set.

In the lab and the tests the uplink is QEMU's UART socket (a Unix socket: no network between them); a real
board's is a serial line bridged to one."""

from __future__ import annotations

import socket
import threading

from .gateway import Gateway
from .uplink import unstuffer


def connect(path: str) -> socket.socket:
    link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    link.connect(path)
    return link


def serve(link: socket.socket, gateway: Gateway, stop: threading.Event) -> None:
    frames = unstuffer()
    link.settimeout(0.2)
    while not stop.is_set():
        try:
            data = link.recv(4096)
        except TimeoutError:
            continue
        if not data:
            return
        for frame in frames.feed(data):
            answer = gateway.receive(frame)
            if answer is not None:
                link.sendall(answer)
