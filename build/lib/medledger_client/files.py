"""Files the client writes all or nothing: a reader never sees half a record or half a plaintext."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_file(destination: str | Path) -> Iterator[BinaryIO]:
    """A temporary file of mode 0600 beside `destination` that replaces it when the block ends without an
    exception; on any exception it is removed and `destination` is left as it was."""
    target = Path(destination)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
