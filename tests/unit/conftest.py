from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake_gateway import Peer, serve


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    with serve(tmp_path) as fake:
        yield fake
