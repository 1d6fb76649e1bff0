"""Where the repository, the build cache and the lab's files live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Build caches shared by every clone on this machine, so a fresh clone does not rebuild."""
    return Path(os.environ.get("MEDLEDGER_CACHE", Path.home() / ".cache" / "medledger"))
