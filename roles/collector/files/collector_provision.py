#!/usr/bin/python3
"""Write a collector board's provisioning page and its gateway's key file from the board's uplink key.

  collector_provision.py ID BOARD_DIR USER

BOARD_DIR/uplink.key holds the key (64 hex digits, generated on this host). The page is what the firmware
reads from its provisioning flash sector (firmware/src/app/main.c): the magic "MLC1" (little-endian), the
16-character identity, the 32-byte key. The key file is the gateway's: {identity: hex key}. Each is written
(0600, USER's, by rename: never half-written) only when its content differs. Prints JSON: "written" or
"unchanged", and the page's SHA-256 (what a real board's flash is compared against). Never prints the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import struct
import sys
import tempfile
from pathlib import Path

MAGIC = 0x31434C4D
ID_BYTES, KEY_BYTES = 16, 32


def write_if_changed(path: Path, content: bytes, owner: pwd.struct_passwd) -> bool:
    if path.exists() and path.read_bytes() == content:
        return False
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        os.fchown(descriptor, owner.pw_uid, owner.pw_gid)
        os.write(descriptor, content)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    return True


def main(identity: str, board_dir: str, user: str) -> int:
    folder = Path(board_dir)
    key_hex = (folder / "uplink.key").read_text().strip()
    key = bytes.fromhex(key_hex)
    collector = identity.encode("ascii")
    if len(collector) != ID_BYTES or len(key) != KEY_BYTES:
        print(f"{identity}: needs a {ID_BYTES}-character identity and a {KEY_BYTES}-byte key", file=sys.stderr)
        return 2
    owner = pwd.getpwnam(user)
    page = struct.pack("<I", MAGIC) + collector + key
    keys = (json.dumps({identity: key_hex}) + "\n").encode()
    written = [
        write_if_changed(folder / name, content, owner)
        for name, content in (("provisioning.bin", page), ("keys.json", keys))
    ]
    status = "written" if any(written) else "unchanged"
    print(json.dumps({"status": status, "page_sha256": hashlib.sha256(page).hexdigest()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
