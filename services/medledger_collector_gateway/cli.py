"""`medledger-collector-gateway`:

medledger-collector-gateway serve --database F --keys F --uplink SOCKET    serve one collector's uplink
medledger-collector-gateway shr --database F --collector ID --start T --end T --out F    a surgery's SHR
medledger-collector-gateway status --database F    each collector's sessions, readings and last reading, as JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import stat
import sys
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from medledger_client.files import atomic_file

from .gateway import Gateway
from .link import connect, serve
from .shr import surgical_health_record
from .store import Store
from .uplink import ID_BYTES, KEY_BYTES


class KeysError(ValueError):
    pass


def load_keys(path: Path) -> dict[bytes, bytes]:
    """Collector id -> uplink key, from a JSON object of ids (16 ASCII characters) to keys (64 hex digits) in
    a file only its owner reads."""
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysError(f"{path}: the collectors' keys must be readable by their owner only (chmod 0600)")
    try:
        entries = json.loads(path.read_text())
        keys = {collector.encode("ascii"): bytes.fromhex(key) for collector, key in entries.items()}
    except (ValueError, AttributeError, UnicodeEncodeError) as broken:
        raise KeysError(f"{path}: not a JSON object of collector ids to hex keys ({broken})") from None
    for collector, key in keys.items():
        if len(collector) != ID_BYTES or len(key) != KEY_BYTES:
            raise KeysError(f"{path}: {collector!r} needs a {ID_BYTES}-character id and a {KEY_BYTES}-byte key")
    return keys


def _serve(args: argparse.Namespace) -> int:
    keys = load_keys(Path(args.keys))
    store = Store(args.database)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    link = connect(args.uplink)
    try:
        serve(link, Gateway(store, keys), stop)
    finally:
        link.close()
        store.close()
    # The uplink closed under us: exit non-zero, so the supervisor starts the gateway again.
    return 0 if stop.is_set() else 1


def _shr(args: argparse.Namespace) -> int:
    store = Store(args.database)
    try:
        document = surgical_health_record(
            store, args.collector.encode("ascii"), datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
        )
    finally:
        store.close()
    with atomic_file(args.out) as out:
        out.write(document)
    print(json.dumps({"shr": args.out, "readings": len(json.loads(document)["readings"])}))
    return 0


def _status(args: argparse.Namespace) -> int:
    if not Path(args.database).exists():
        raise ValueError(f"{args.database}: no such gateway database")
    store = Store(args.database)
    try:
        found = store.status()
    finally:
        store.close()
    print(json.dumps({collector.decode("ascii"): asdict(status) for collector, status in found.items()}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="medledger-collector-gateway", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve a collector's uplink")
    serving.add_argument("--database", required=True, help="the gateway's SQLite file")
    serving.add_argument("--keys", required=True, help="JSON: collector id -> hex key (0600)")
    serving.add_argument("--uplink", required=True, help="the uplink's Unix socket (QEMU's UART, or a bridge)")
    serving.set_defaults(run=_serve)
    record = commands.add_parser("shr", help="write a surgery's SHR")
    record.add_argument("--database", required=True)
    record.add_argument("--collector", required=True)
    record.add_argument("--start", required=True, help="ISO 8601 with a UTC offset")
    record.add_argument("--end", required=True, help="ISO 8601 with a UTC offset")
    record.add_argument("--out", required=True)
    record.set_defaults(run=_shr)
    status = commands.add_parser("status", help="each collector's sessions, readings and last reading")
    status.add_argument("--database", required=True)
    status.set_defaults(run=_status)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return int(args.run(args))
    except (KeysError, ValueError, OSError) as failed:
        print(f"medledger-collector-gateway: {failed}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
