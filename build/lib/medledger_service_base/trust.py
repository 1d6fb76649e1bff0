"""The organisations a service trusts, read from their MSP folders and read again when a file there changes: a
CRL that playbooks/revoke.yml publishes takes effect on the next request, without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path

from medledger_api.signed_request import TrustStore

# How often the folders are looked at (a stat of a few files); a revocation takes effect within this.
CHECK_SECONDS = 1.0


class TrustFolders:
    def __init__(self, folders: Mapping[str, Path]) -> None:
        self.folders = dict(folders)
        self._lock = threading.Lock()
        self._seen = self._state()
        self._store = TrustStore.from_msp_folders(self.folders)
        self._checked = time.monotonic()

    def current(self) -> TrustStore:
        with self._lock:
            if time.monotonic() - self._checked >= CHECK_SECONDS:
                self._checked = time.monotonic()
                state = self._state()
                if state != self._seen:
                    self._store = TrustStore.from_msp_folders(self.folders)
                    self._seen = state
            return self._store

    def _state(self) -> tuple[tuple[str, int, int], ...]:
        """Every PEM file of the folders with its modification time and size."""
        found = []
        for folder in self.folders.values():
            for path in sorted(folder.glob("*/*.pem")):
                stat = path.stat()
                found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)
