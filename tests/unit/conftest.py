from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake_gateway import Peer, serve
from .organisations import Organisation


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    with serve(tmp_path) as fake:
        yield fake


@pytest.fixture(scope="module")
def hospital() -> Organisation:
    return Organisation.made("OrgPatientMSP")


@pytest.fixture(scope="module")
def third_party() -> Organisation:
    return Organisation.made("OrgThirdPartyMSP")
