#!/usr/bin/python3
"""Run Fabric's CLIs on this host as its organisation's admin, without assembling environment variables.

Installed as medledger-orderer-admin on orderer hosts and medledger-peer-admin on peer hosts; the name
picks the settings, /etc/medledger/<orderer|peer>/admin.json, which the fabric_admin role writes.

  medledger-orderer-admin channels             channels this orderer serves, with heights (JSON)
  medledger-orderer-admin height CHANNEL       the channel's block height at this orderer
  medledger-orderer-admin join CHANNEL BLOCK   join a channel from its genesis block (channel participation)
  medledger-orderer-admin genesis CHANNEL FILE write the channel's genesis block, fetched from the orderer
  medledger-orderer-admin touch-config CHANNEL
      submit a configuration update that changes nothing the network does (BatchTimeout written in
      another unit: 2s -> 2000ms -> 2000000us -> 2000ms ...): a transaction through the ordering
      service, for health checks and fault tests. Returns once this orderer has ordered it.

  medledger-peer-admin ARGS...                 the peer CLI against this peer, e.g. `channel list`
  medledger-peer-admin height CHANNEL          the channel's block height at this peer
  medledger-peer-admin genesis CHANNEL FILE    as above, from the ordering service
  medledger-peer-admin create-channel CHANNEL TX FILE
      create the channel from its creation transaction (Kafka ordering), writing its genesis block; says
      "exists" and writes the block fetched from the ordering service if the channel exists already
  medledger-peer-admin join CHANNEL BLOCK      join this peer to the channel, unless it has joined
  medledger-peer-admin anchors CHANNEL HOST:PORT...
      set the organisation's anchor peers on the channel, unless they are set so already
  medledger-peer-admin chaincode-install PACKAGE PACKAGE_ID
      install a chaincode package on this peer, unless it is installed
  medledger-peer-admin chaincode-approve CHANNEL NAME VERSION PACKAGE_ID
      approve the definition for the organisation: the committed sequence for the committed version, the
      next one for a new version; nothing when this organisation approved it already
  medledger-peer-admin chaincode-commit CHANNEL NAME VERSION ADDRESS=TLS_CA[,ADDRESS=TLS_CA...]
      commit the definition, endorsed by the peers given (one per organisation), once every member
      organisation approved it; nothing when this version is committed
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Each unit and the next one in the cycle, with the factor between them.
NEXT_UNIT = {"us": ("ms", 0.001), "ms": ("us", 1000), "s": ("ms", 1000), "m": ("s", 60), "h": ("m", 60)}
CONFIG_UPDATE = 2  # common.HeaderType
# Seconds an accepted configuration update may take to appear in a block at the orderer.
ORDERED_WITHIN = 60
# Seconds every organisation's approval of a chaincode definition may take to reach this peer.
APPROVED_WITHIN = 120


def rewritten(duration: str) -> str:
    """The same duration in another unit."""
    unit = next((u for u in NEXT_UNIT if duration.endswith(u) and duration[: -len(u)].isdigit()), None)
    if unit is None:
        raise ValueError(f"BatchTimeout {duration!r} is not a whole number of us, ms, s, m or h")
    target, factor = NEXT_UNIT[unit]
    return f"{round(int(duration[: -len(unit)]) * factor)}{target}"


class CommandFailed(Exception):
    """A Fabric CLI failed; the message is its own."""


class Admin:
    """The organisation admin's identity, and the ordering service it talks to."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        identity = settings["admin_identity"]
        self.client_tls = (f"{identity}/tls/server.crt", f"{identity}/tls/server.key")
        self.env = dict(
            os.environ,
            FABRIC_CFG_PATH=settings["cli_config"],
            CORE_PEER_LOCALMSPID=settings["msp_id"],
            CORE_PEER_MSPCONFIGPATH=f"{identity}/msp",
            FABRIC_LOGGING_SPEC="WARNING",
        )

    def run(self, tool: str, *args: str) -> str:
        command = [f"{self.settings['bin']}/{tool}", *args]
        result = subprocess.run(command, check=False, capture_output=True, text=True, env=self.env)
        if result.returncode != 0:
            raise CommandFailed(f"{tool} {args[0]} failed: {(result.stderr or result.stdout).strip()}")
        return result.stdout

    def orderer_flags(self) -> list[str]:
        cert, key = self.client_tls
        tls = [
            "--tls",
            "--cafile",
            self.settings["orderer_tls_ca"],
            "--clientauth",
            "--certfile",
            cert,
            "--keyfile",
            key,
        ]
        return ["-o", self.settings["orderer"], *tls]

    def genesis(self, channel: str, target: str) -> None:
        self.run("peer", "channel", "fetch", "0", target, "-c", channel, *self.orderer_flags())

    def update_config(self, channel: str, change: Callable[[dict[str, Any]], bool]) -> bool:
        """Fetch the channel's configuration, let `change` edit it, and submit the difference signed by
        this admin. False, and nothing submitted, when `change` finds nothing to do."""
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            fetched = str(folder / "block.pb")
            self.run("peer", "channel", "fetch", "config", fetched, "-c", channel, *self.orderer_flags())
            block = json.loads(self.decode("common.Block", folder / "block.pb"))
            config = block["data"]["data"][0]["payload"]["data"]["config"]
            (folder / "old.json").write_text(json.dumps(config))
            if not change(config):
                return False
            (folder / "new.json").write_text(json.dumps(config))
            for name in ("old", "new"):
                self.encode("common.Config", folder / f"{name}.json", folder / f"{name}.pb")
            old, new, update = (str(folder / name) for name in ("old.pb", "new.pb", "update.pb"))
            comparison = ["--channel_id", channel, "--original", old, "--updated", new, "--output", update]
            self.run("configtxlator", "compute_update", *comparison)
            config_update = json.loads(self.decode("common.ConfigUpdate", folder / "update.pb"))
            header = {"channel_header": {"channel_id": channel, "type": CONFIG_UPDATE}}
            envelope = {"payload": {"header": header, "data": {"config_update": config_update}}}
            (folder / "envelope.json").write_text(json.dumps(envelope))
            self.encode("common.Envelope", folder / "envelope.json", folder / "envelope.pb")
            envelope_file = str(folder / "envelope.pb")
            self.run("peer", "channel", "update", "-f", envelope_file, "-c", channel, *self.orderer_flags())
            return True

    def decode(self, message: str, source: Path) -> str:
        return self.run("configtxlator", "proto_decode", "--type", message, "--input", str(source))

    def encode(self, message: str, source: Path, target: Path) -> None:
        self.run("configtxlator", "proto_encode", "--type", message, "--input", str(source), "--output", str(target))


class OrdererAdmin(Admin):
    def channels(self, channel: str | None = None) -> dict[str, Any]:
        cert, key = self.client_tls
        args = ["channel", "list", "-o", self.settings["admin_endpoint"], "--ca-file", self.settings["orderer_tls_ca"]]
        args += ["--client-cert", cert, "--client-key", key] + (["-c", channel] if channel else [])
        output = self.run("osnadmin", *args)
        # osnadmin prints "Status: 200" before the JSON body.
        return dict(json.loads(output[output.index("{") :]))

    def join(self, channel: str, block: str) -> None:
        cert, key = self.client_tls
        args = ["channel", "join", "-o", self.settings["admin_endpoint"], "--ca-file", self.settings["orderer_tls_ca"]]
        self.run("osnadmin", *args, "--client-cert", cert, "--client-key", key, "-c", channel, "-b", block)

    def touch_config(self, channel: str) -> str:
        """Submit the update and wait until this orderer has ordered it: the next update is computed from
        the configuration this one leaves (Kafka answers a broadcast before the block is cut)."""
        before = int(self.channels(channel)["height"])
        written: list[str] = []

        def rewrite_batch_timeout(config: dict[str, Any]) -> bool:
            value = config["channel_group"]["groups"]["Orderer"]["values"]["BatchTimeout"]["value"]
            value["timeout"] = rewritten(value["timeout"])
            written.append(value["timeout"])
            return True

        self.update_config(channel, rewrite_batch_timeout)
        deadline = time.monotonic() + ORDERED_WITHIN
        while int(self.channels(channel)["height"]) <= before:
            if time.monotonic() > deadline:
                raise CommandFailed(f"submitted, but {channel} stayed at height {before} here for {ORDERED_WITHIN} s")
            time.sleep(0.5)
        return written[0]


class PeerAdmin(Admin):
    def __init__(self, settings: dict[str, str]) -> None:
        super().__init__(settings)
        cert, key = self.client_tls
        self.env.update(
            CORE_PEER_ADDRESS=settings["peer"],
            CORE_PEER_TLS_ENABLED="true",
            CORE_PEER_TLS_ROOTCERT_FILE=settings["peer_tls_ca"],
            CORE_PEER_TLS_CLIENTAUTHREQUIRED="true",
            CORE_PEER_TLS_CLIENTCERT_FILE=cert,
            CORE_PEER_TLS_CLIENTKEY_FILE=key,
        )

    def passthrough(self, args: list[str]) -> None:
        os.execve(f"{self.settings['bin']}/peer", ["peer", *args], self.env)  # noqa: S606 - the operator's own arguments

    def joined(self) -> list[str]:
        listing = self.run("peer", "channel", "list")
        return [
            line.strip() for line in listing.split("Channels peers has joined:", 1)[-1].splitlines() if line.strip()
        ]

    def height(self, channel: str) -> int:
        info = self.run("peer", "channel", "getinfo", "-c", channel)
        return int(json.loads(info[info.index("{") :])["height"])

    def create_channel(self, channel: str, transaction: str, target: str) -> str:
        try:
            self.genesis(channel, target)
            return "exists"
        except CommandFailed as missing:
            if "NOT_FOUND" not in str(missing):
                raise
        self.run(
            "peer",
            "channel",
            "create",
            "-c",
            channel,
            "-f",
            transaction,
            "--outputBlock",
            target,
            *self.orderer_flags(),
        )
        return "created"

    def join(self, channel: str, block: str) -> str:
        if channel in self.joined():
            return "joined already"
        self.run("peer", "channel", "join", "-b", block)
        return "joined"

    def anchors(self, channel: str, endpoints: list[str]) -> str:
        wanted = [{"host": host, "port": int(port)} for host, port in (e.rsplit(":", 1) for e in endpoints)]
        msp_id = self.settings["msp_id"]

        def set_anchors(config: dict[str, Any]) -> bool:
            values = config["channel_group"]["groups"]["Application"]["groups"][msp_id]["values"]
            current = values.get("AnchorPeers", {}).get("value", {}).get("anchor_peers", [])
            if current == wanted:
                return False
            values["AnchorPeers"] = {"mod_policy": "Admins", "value": {"anchor_peers": wanted}, "version": "0"}
            return True

        return "updated" if self.update_config(channel, set_anchors) else "unchanged"

    def lifecycle(self, *args: str) -> Any:
        return json.loads(self.run("peer", "lifecycle", "chaincode", *args, "--output", "json"))

    def install(self, package: str, package_id: str) -> str:
        installed = self.lifecycle("queryinstalled").get("installed_chaincodes", [])
        if any(chaincode["package_id"] == package_id for chaincode in installed):
            return "installed already"
        self.run("peer", "lifecycle", "chaincode", "install", package)
        return "installed"

    def committed(self, channel: str, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.lifecycle("querycommitted", "-C", channel, "-n", name))
        except CommandFailed as error:
            if f"namespace {name} is not defined" in str(error):
                return None
            raise

    def sequence_for(self, channel: str, name: str, version: str) -> int:
        """The committed sequence while the version is unchanged; the next one for a new version."""
        committed = self.committed(channel, name)
        if committed is None:
            return 1
        return int(committed["sequence"]) + (0 if committed["version"] == version else 1)

    def approve(self, channel: str, name: str, version: str, package_id: str) -> str:
        sequence = self.sequence_for(channel, name, version)
        try:
            approved = self.lifecycle("queryapproved", "-C", channel, "-n", name, "--sequence", str(sequence))
            source = approved.get("source", {}).get("Type", {}).get("LocalPackage", {})
            if approved.get("version") == version and source.get("package_id") == package_id:
                return "approved already"
        except CommandFailed as error:
            if "could not fetch approved chaincode definition" not in str(error):
                raise
        definition = ["-C", channel, "-n", name, "--version", version, "--sequence", str(sequence)]
        self.run(
            "peer",
            "lifecycle",
            "chaincode",
            "approveformyorg",
            *definition,
            "--package-id",
            package_id,
            *self.orderer_flags(),
            "--waitForEvent",
        )
        return "approved"

    def commit(self, channel: str, name: str, version: str, endorsers: list[str]) -> str:
        """Commit once every member organisation approved. endorsers: ADDRESS=TLS_CA, one peer per organisation."""
        committed = self.committed(channel, name)
        if committed is not None and committed["version"] == version:
            return "committed already"
        sequence = self.sequence_for(channel, name, version)
        definition = ["-C", channel, "-n", name, "--version", version, "--sequence", str(sequence)]
        deadline = time.monotonic() + APPROVED_WITHIN
        while True:
            approvals = self.lifecycle("checkcommitreadiness", *definition)["approvals"]
            if all(approvals.values()):
                break
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(org for org, approved in approvals.items() if not approved))
                raise CommandFailed(f"{name} {version} (sequence {sequence}) on {channel}: not approved by {missing}")
            time.sleep(1)
        peers = [flag for endorser in endorsers for flag in self.peer_flags(endorser)]
        self.run(
            "peer", "lifecycle", "chaincode", "commit", *definition, *peers, *self.orderer_flags(), "--waitForEvent"
        )
        return "committed"

    @staticmethod
    def peer_flags(endorser: str) -> list[str]:
        address, tls_ca = endorser.split("=", 1)
        return ["--peerAddresses", address, "--tlsRootCertFiles", tls_ca]


def orderer_main(admin: OrdererAdmin, args: list[str]) -> str:
    match args:
        case ["channels"]:
            return json.dumps(admin.channels(), indent=2)
        case ["height", channel]:
            return str(admin.channels(channel)["height"])
        case ["join", channel, block]:
            admin.join(channel, block)
            return "joined"
        case ["genesis", channel, target]:
            admin.genesis(channel, target)
            return target
        case ["touch-config", channel]:
            return admin.touch_config(channel)
    raise SystemExit(__doc__)


def peer_main(admin: PeerAdmin, args: list[str]) -> str:  # noqa: PLR0911 - one return per subcommand
    match args:
        case ["height", channel]:
            return str(admin.height(channel))
        case ["genesis", channel, target]:
            admin.genesis(channel, target)
            return target
        case ["create-channel", channel, transaction, target]:
            return admin.create_channel(channel, transaction, target)
        case ["join", channel, block]:
            return admin.join(channel, block)
        case ["anchors", channel, *endpoints] if endpoints:
            return admin.anchors(channel, endpoints)
        case ["chaincode-install", package, package_id]:
            return admin.install(package, package_id)
        case ["chaincode-approve", channel, name, version, package_id]:
            return admin.approve(channel, name, version, package_id)
        case ["chaincode-commit", channel, name, version, endorsers]:
            return admin.commit(channel, name, version, endorsers.split(","))
        case [] | ["-h" | "--help"]:
            raise SystemExit(__doc__)
    admin.passthrough(args)
    return ""


def main() -> None:
    kind = Path(sys.argv[0]).name.removeprefix("medledger-").removesuffix("-admin")
    if kind not in ("orderer", "peer"):
        raise SystemExit(f"install this command as medledger-orderer-admin or medledger-peer-admin, not {sys.argv[0]}")
    settings = json.loads(Path(f"/etc/medledger/{kind}/admin.json").read_text())
    try:
        if kind == "orderer":
            print(orderer_main(OrdererAdmin(settings), sys.argv[1:]))
        else:
            print(peer_main(PeerAdmin(settings), sys.argv[1:]))
    except (CommandFailed, ValueError) as failure:
        raise SystemExit(str(failure)) from None


if __name__ == "__main__":
    main()
