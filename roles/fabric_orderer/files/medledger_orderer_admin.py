#!/usr/bin/python3
"""Run Fabric's CLIs against this orderer as the orderer organisation's admin.

  medledger-orderer-admin channels             channels this orderer serves, with heights (JSON)
  medledger-orderer-admin height CHANNEL       the channel's block height here
  medledger-orderer-admin join CHANNEL BLOCK   join a channel from its genesis block (channel participation)
  medledger-orderer-admin genesis CHANNEL FILE write the channel's genesis block, fetched from this orderer
  medledger-orderer-admin touch-config CHANNEL
      submit a configuration update that changes nothing the network does (BatchTimeout written in
      another unit: 2s -> 2000ms -> 2000000us -> 2000ms ...): a transaction through the ordering
      service, for health checks and fault tests. Returns once this orderer has ordered it.

Settings (endpoints, identity folders) come from /etc/medledger/orderer/admin.json, which the
fabric_orderer role writes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SETTINGS = Path("/etc/medledger/orderer/admin.json")
# Seconds an accepted configuration update may take to appear in a block here.
ORDERED_WITHIN = 60
# Each unit and the next one in the cycle, with the factor between them.
NEXT_UNIT = {"us": ("ms", 0.001), "ms": ("us", 1000), "s": ("ms", 1000), "m": ("s", 60), "h": ("m", 60)}


def rewritten(duration: str) -> str:
    """The same duration in another unit."""
    unit = next((u for u in NEXT_UNIT if duration.endswith(u) and duration[: -len(u)].isdigit()), None)
    if unit is None:
        raise ValueError(f"BatchTimeout {duration!r} is not a whole number of us, ms, s, m or h")
    target, factor = NEXT_UNIT[unit]
    return f"{round(int(duration[: -len(unit)]) * factor)}{target}"


class Admin:
    def __init__(self, settings: dict[str, str]) -> None:
        self.bin = settings["bin"]
        self.settings = settings
        identity = settings["admin_identity"]
        self.env = dict(
            os.environ,
            FABRIC_CFG_PATH=settings["peer_config"],
            CORE_PEER_LOCALMSPID=settings["msp_id"],
            CORE_PEER_MSPCONFIGPATH=f"{identity}/msp",
            FABRIC_LOGGING_SPEC="WARNING",
        )
        self.client_tls = [f"{identity}/tls/server.crt", f"{identity}/tls/server.key"]

    def run(self, tool: str, *args: str) -> str:
        command = [f"{self.bin}/{tool}", *args]
        result = subprocess.run(command, check=False, capture_output=True, text=True, env=self.env)
        if result.returncode != 0:
            sys.exit(f"{tool} {args[0]} failed: {(result.stderr or result.stdout).strip()}")
        return result.stdout

    def channels(self, channel: str | None = None) -> dict[str, Any]:
        cert, key = self.client_tls
        args = ["channel", "list", "-o", self.settings["admin_endpoint"], "--ca-file", self.settings["tls_ca"]]
        args += ["--client-cert", cert, "--client-key", key] + (["-c", channel] if channel else [])
        output = self.run("osnadmin", *args)
        # osnadmin prints "Status: 200" before the JSON body.
        return dict(json.loads(output[output.index("{") :]))

    def join(self, channel: str, block: str) -> None:
        cert, key = self.client_tls
        args = ["channel", "join", "-o", self.settings["admin_endpoint"], "--ca-file", self.settings["tls_ca"]]
        self.run("osnadmin", *args, "--client-cert", cert, "--client-key", key, "-c", channel, "-b", block)

    def genesis(self, channel: str, target: str) -> None:
        self.run("peer", "channel", "fetch", "0", target, "-c", channel, *self.orderer_flags())

    def orderer_flags(self) -> list[str]:
        cert, key = self.client_tls
        tls = ["--tls", "--cafile", self.settings["tls_ca"], "--clientauth", "--certfile", cert, "--keyfile", key]
        return ["-o", self.settings["endpoint"], *tls]

    def touch_config(self, channel: str) -> str:
        """Submit the update and wait until this orderer has ordered it: the next update is computed from
        the configuration this one leaves (Kafka answers a broadcast before the block is cut)."""
        before = int(self.channels(channel)["height"])
        written = self.submit_touch(channel)
        deadline = time.monotonic() + ORDERED_WITHIN
        while int(self.channels(channel)["height"]) <= before:
            if time.monotonic() > deadline:
                sys.exit(f"submitted, but {channel} stayed at height {before} here for {ORDERED_WITHIN} s")
            time.sleep(0.5)
        return written

    def submit_touch(self, channel: str) -> str:
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            fetched = str(folder / "block.pb")
            self.run("peer", "channel", "fetch", "config", fetched, "-c", channel, *self.orderer_flags())
            block = json.loads(self.decode("common.Block", folder / "block.pb"))
            config = block["data"]["data"][0]["payload"]["data"]["config"]
            (folder / "old.json").write_text(json.dumps(config))
            timeout = config["channel_group"]["groups"]["Orderer"]["values"]["BatchTimeout"]["value"]
            timeout["timeout"] = rewritten(timeout["timeout"])
            (folder / "new.json").write_text(json.dumps(config))
            for name in ("old", "new"):
                self.encode("common.Config", folder / f"{name}.json", folder / f"{name}.pb")
            self.run(
                "configtxlator",
                "compute_update",
                "--channel_id",
                channel,
                "--original",
                str(folder / "old.pb"),
                "--updated",
                str(folder / "new.pb"),
                "--output",
                str(folder / "update.pb"),
            )
            update = json.loads(self.decode("common.ConfigUpdate", folder / "update.pb"))
            header = {"channel_header": {"channel_id": channel, "type": 2}}  # 2: CONFIG_UPDATE
            envelope = {"payload": {"header": header, "data": {"config_update": update}}}
            (folder / "envelope.json").write_text(json.dumps(envelope))
            self.encode("common.Envelope", folder / "envelope.json", folder / "envelope.pb")
            envelope_file = str(folder / "envelope.pb")
            self.run("peer", "channel", "update", "-f", envelope_file, "-c", channel, *self.orderer_flags())
            return str(timeout["timeout"])

    def decode(self, message: str, source: Path) -> str:
        return self.run("configtxlator", "proto_decode", "--type", message, "--input", str(source))

    def encode(self, message: str, source: Path, target: Path) -> None:
        self.run("configtxlator", "proto_encode", "--type", message, "--input", str(source), "--output", str(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("channels")
    for name in ("height", "touch-config"):
        commands.add_parser(name).add_argument("channel")
    for name, file_help in (("join", "the channel's genesis block"), ("genesis", "where to write it")):
        command = commands.add_parser(name)
        command.add_argument("channel")
        command.add_argument("file", help=file_help)
    args = parser.parse_args()
    admin = Admin(json.loads(SETTINGS.read_text()))
    if args.command == "channels":
        print(json.dumps(admin.channels(), indent=2))
    elif args.command == "height":
        print(admin.channels(args.channel)["height"])
    elif args.command == "join":
        admin.join(args.channel, args.file)
    elif args.command == "genesis":
        admin.genesis(args.channel, args.file)
    else:
        print(admin.touch_config(args.channel))


if __name__ == "__main__":
    main()
