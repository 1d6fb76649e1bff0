#!/usr/bin/python3
"""Run Fabric's CLIs on this host as its organisation's admin, without assembling environment variables.

Installed as medledger-orderer-admin on orderer hosts and medledger-peer-admin on peer hosts; the name
picks the settings, /etc/medledger/<orderer|peer>/admin.json, which the fabric_admin role writes (or the file
MEDLEDGER_ADMIN_SETTINGS names: the cluster's chaincode Job writes one per peer of its organisation).

  medledger-orderer-admin channels             channels this orderer serves, with heights (JSON)
  medledger-orderer-admin height CHANNEL       the channel's block height at this orderer
  medledger-orderer-admin relation CHANNEL     this orderer's part in the channel and its state, e.g.
      "consenter active" (a Raft consenter in the set, serving), "follower onboarding"
  medledger-orderer-admin join CHANNEL BLOCK   join a channel from its genesis block (channel participation)
  medledger-orderer-admin genesis CHANNEL FILE write the channel's genesis block, fetched from the orderer
  medledger-orderer-admin consensus CHANNEL    the channel's consensus type and state (JSON), at this orderer
  medledger-orderer-admin maintenance CHANNEL on|off
      put the channel into maintenance mode (only orderer admins' configuration updates and block requests are
      served) or back to normal; nothing when it is so already
  medledger-orderer-admin to-raft CHANNEL BLOCK
      in maintenance mode, make the channel's consensus Raft with the consenters and options of the genesis
      BLOCK (configtxgen's, from the inventory), as Fabric's Kafka-to-Raft migration does; nothing when it
      is Raft already
  medledger-orderer-admin remove CHANNEL       leave the channel (channel participation; for the system
      channel once it is Raft); nothing when this orderer does not serve it
  medledger-orderer-admin consenter CHANNEL HOST:PORT CERTIFICATE
      make CERTIFICATE (PEM; an orderer's renewed TLS certificate) the client and server certificate of the
      Raft consenter at HOST:PORT in the channel's configuration; nothing when it is so already
  medledger-orderer-admin revocations CHANNEL CRL...
      as medledger-peer-admin's, for the orderer organisation's MSP in the channel's Orderer group
  medledger-orderer-admin batch CHANNEL COUNT BYTES
      cut the channel's blocks at COUNT envelopes or once they hold BYTES (its BatchSize: max message count,
      preferred max bytes), as the benchmarks of Fig. 9(a) and (b) change it; nothing when it is so already
  medledger-orderer-admin touch-config CHANNEL
      submit a configuration update that changes nothing the network does (BatchTimeout written in
      another unit: 2s -> 2000ms -> 2000000us -> 2000ms ...): a transaction through the ordering
      service, for health checks and fault tests. Returns once this orderer has ordered it.

  medledger-peer-admin ARGS...                 the peer CLI against this peer, e.g. `channel list`
  medledger-peer-admin height CHANNEL          the channel's block height at this peer
  medledger-peer-admin genesis CHANNEL FILE    as above, from the ordering service
  medledger-peer-admin create-channel CHANNEL TX FILE [SPEC]
      create the channel from its creation transaction (Kafka ordering), writing its genesis block; says
      "exists" and writes the block fetched from the ordering service if the channel exists already.
      Either way the block is written only if check-genesis passes
  medledger-peer-admin check-genesis CHANNEL BLOCK [SPEC]
      exit non-zero, with one line naming each difference, unless the genesis block is the channel the
      inventory describes: members (MSP IDs), their MSPs' certificates (cacerts, intermediatecerts,
      admincerts, tlscacerts, tlsintermediatecerts of this host's MSP folders), the members' and the
      Application policies, the Application ACLs (which policy each peer resource needs), the consensus
      type and the orderer organisations. SPEC defaults to
      <channel_dir>/CHANNEL.expected.json, which the fabric_peer role writes from the inventory
  medledger-peer-admin join CHANNEL BLOCK [SPEC]
      join this peer to the channel, only if check-genesis passes, or, for a channel that has grown since
      (an organisation onboarded later), if BLOCK is the ordering service's block 0 and the channel's current
      configuration passes the same comparison; if the peer has joined already, check the current
      configuration (fetched from the ordering service) instead
  medledger-peer-admin snapshot CHANNEL
      have this peer write a snapshot of the channel's ledger at its last block; print the snapshot's folder
      once it is complete (a snapshot at that block already made is not made again)
  medledger-peer-admin join-snapshot CHANNEL FOLDER
      join this peer to the channel from a snapshot's folder (then it pulls the blocks after it from the
      ordering service); nothing when the peer has joined the channel already
  medledger-peer-admin anchors CHANNEL HOST:PORT...
      set the organisation's anchor peers on the channel, unless they are set so already
  medledger-peer-admin revocations CHANNEL CRL...
      make the CRLs (PEM files) the organisation's revocation list in its channel MSP, which every orderer
      and peer of the channel applies; nothing when it holds exactly those already
  medledger-peer-admin add-organisation CHANNEL MSP_ID CONFIGTX_DIR ENVELOPE
      write to ENVELOPE the unsigned configuration update that makes MSP_ID a member of the channel, as the
      organisation of that name in CONFIGTX_DIR/configtx.yaml (configtxgen -printOrg) defines it; says
      "member already", and writes nothing, when it is one
  medledger-peer-admin check-signers CHANNEL MSP_ID SIGNER_MSP_ID[,...]
      exit non-zero, naming the members that must still sign, unless the admins of the organisations given
      are enough for the channel's Application Admins policy (who may add a member); "member already" when
      MSP_ID is one
  medledger-peer-admin sign-update ENVELOPE
      add this organisation's admin's signature to a configuration update, unless it has signed it
  medledger-peer-admin submit-update CHANNEL ENVELOPE
      sign and submit a configuration update once its signatures meet the Application Admins policy; else
      exit non-zero naming who must still sign, submitting nothing
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

from medledger_channel_config import (
    CommandFailed,
    NotTheInventorys,
    channel_revocation_list,
    check_config,
    config_sequence,
    consensus_type,
    consenter_endpoints,
    load_spec,
    signers_still_needed,
    with_batch_size,
    with_consenter_certificate,
    with_revocation_list,
)

SETTINGS_ENV = "MEDLEDGER_ADMIN_SETTINGS"
# Each unit and the next one in the cycle, with the factor between them.
NEXT_UNIT = {"us": ("ms", 0.001), "ms": ("us", 1000), "s": ("ms", 1000), "m": ("s", 60), "h": ("m", 60)}
CONFIG_UPDATE = 2  # common.HeaderType
# A configuration update not in the orderer's configuration this many seconds after it was accepted is
# submitted again (recomputed), up to this many submissions in all.
ORDERED_WITHIN = 20
UPDATE_SUBMISSIONS = 4
# Seconds a snapshot may take to be written after it was requested.
SNAPSHOT_WITHIN = 300
# Seconds every organisation's approval of a chaincode definition may take to reach this peer.
APPROVED_WITHIN = 120
# A lifecycle transaction or configuration update the ordering service did not take (gRPC UNAVAILABLE: a
# connection it closed; SERVICE_UNAVAILABLE: a channel's Kafka partition not yet serving after the channel was
# made, a Raft channel without a leader yet) is tried again, this many times
# and this many seconds apart: approve and commit first look at what is approved or committed, so trying
# again never submits twice what went through.
UNAVAILABLE_ATTEMPTS = 4
UNAVAILABLE_DELAY = 5


def rewritten(duration: str) -> str:
    """The same duration in another unit."""
    unit = next((u for u in NEXT_UNIT if duration.endswith(u) and duration[: -len(u)].isdigit()), None)
    if unit is None:
        raise ValueError(f"BatchTimeout {duration!r} is not a whole number of us, ms, s, m or h")
    target, factor = NEXT_UNIT[unit]
    return f"{round(int(duration[: -len(unit)]) * factor)}{target}"


class Admin:
    """The organisation admin's identity, and the ordering service it talks to."""

    # The channel configuration group whose member the organisation is.
    member_group = "Application"

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

    def orderer_flags(self, orderer: str | None = None) -> list[str]:
        """The flags that reach an orderer (this admin's by default) with mutual TLS."""
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
        return ["-o", orderer or self.settings["orderer"], *tls]

    def genesis(self, channel: str, target: str) -> None:
        self.run("peer", "channel", "fetch", "0", target, "-c", channel, *self.orderer_flags())

    def config_block(self, channel: str, folder: Path, orderer: str | None = None) -> dict[str, Any]:
        """The channel's newest configuration block, decoded, from an orderer (this admin's by default)."""
        fetched = folder / "config.block"
        self.run("peer", "channel", "fetch", "config", str(fetched), "-c", channel, *self.orderer_flags(orderer))
        return dict(json.loads(self.decode("common.Block", fetched)))

    def current_config(self, channel: str, orderer: str | None = None) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as work:
            block = self.config_block(channel, Path(work), orderer)
            return dict(block["data"]["data"][0]["payload"]["data"]["config"])

    def write_update(self, channel: str, change: Callable[[dict[str, Any]], bool], target: Path) -> bool:
        """Fetch the channel's configuration, let `change` edit it, and write the difference to `target` as an
        unsigned configuration update envelope. False, and nothing written, when `change` finds nothing to do."""
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            config = self.current_config(channel)
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
            # Renamed into place: a reader never finds half an envelope.
            partial = target.with_name(f".{target.name}.partial")
            partial.write_bytes((folder / "envelope.pb").read_bytes())
            partial.replace(target)
            return True

    def update_config(self, channel: str, change: Callable[[dict[str, Any]], bool]) -> bool:
        """write_update, submit the update signed by this admin alone (a change to this organisation's own
        group, which its Admins policy governs), and return once the configuration this admin's orderer
        serves needs the change no more. False, and nothing submitted, when nothing changes.

        An orderer answers a broadcast once it forwarded it, not once it is ordered: a Raft leader that
        changes meanwhile (the orderer restarted just before) can lose it. Whoever relies on the change next
        (an orderer restarting with the TLS certificate its consenter entry names) must find it there, so an
        update not ordered in time is computed again from the configuration as it is and submitted again.

        Whether it is ordered, any consenter of the channel may say: the one whose own TLS certificate the update
        changes is cut off by its peers as soon as it applies the update, until it restarts with that
        certificate, and cannot serve a block meanwhile."""
        orderers = [self.settings["orderer"], *consenter_endpoints(self.current_config(channel))]
        for submitted_before in range(UPDATE_SUBMISSIONS):
            with tempfile.TemporaryDirectory() as work:
                envelope = Path(work) / "envelope.pb"
                if not self.write_update(channel, change, envelope):
                    return submitted_before > 0
                if not self.broadcast(channel, envelope):
                    continue
            if self.ordered(channel, change, orderers):
                return True
            print(f"{channel}: not ordered after {ORDERED_WITHIN} s, submitting the update again", file=sys.stderr)
        raise CommandFailed(f"{channel}: submitted {UPDATE_SUBMISSIONS} times, the update was never ordered")

    def ordered(self, channel: str, change: Callable[[dict[str, Any]], bool], orderers: list[str]) -> bool:
        """Whether, within ORDERED_WITHIN seconds, one of the orderers serves a configuration that needs `change`
        no more (has_config)."""
        deadline = time.monotonic() + ORDERED_WITHIN
        while time.monotonic() < deadline:
            if self.has_config(channel, change, list(dict.fromkeys(orderers))):
                return True
            time.sleep(1)
        return False

    def has_config(self, channel: str, change: Callable[[dict[str, Any]], bool], orderers: list[str]) -> bool:
        """Whether the channel's configuration at one of the orderers (this admin's first) needs `change` no
        more. An orderer that cannot serve its blocks (just restarted, or cut off) or cannot be reached says
        nothing; only this admin's own orderer failing otherwise is an error."""
        for orderer in orderers:
            try:
                if not change(self.current_config(channel, orderer)):
                    return True
            except CommandFailed as error:
                if orderer == self.settings["orderer"] and not unavailable(error):
                    raise
        return False

    def submit(self, channel: str, envelope: Path) -> None:
        self.run("peer", "channel", "update", "-f", str(envelope), "-c", channel, *self.orderer_flags())

    def broadcast(self, channel: str, envelope: Path) -> bool:
        """Submit the update; False when the ordering service was unavailable (a Raft channel between leaders
        once an orderer restarted, as a renewal's last one just did): it took nothing, and the update may go
        again after a pause."""
        try:
            self.submit(channel, envelope)
        except CommandFailed as error:
            if not unavailable(error):
                raise
            print(f"{channel}: the ordering service is unavailable, submitting again: {error}", file=sys.stderr)
            time.sleep(UNAVAILABLE_DELAY)
            return False
        return True

    def revocations(self, channel: str, crl_files: list[str]) -> str:
        """Put the organisation's CRLs into its MSP in the channel's configuration: local MSPs reach only the
        organisation's own nodes, the channel's MSP every orderer and peer of the channel, which then refuse
        what the CRLs list. Signed by the organisation's admin (its MSP value's mod_policy)."""
        wanted = channel_revocation_list(Path(crl).read_bytes() for crl in crl_files)
        msp_id = self.settings["msp_id"]

        def set_revocations(config: dict[str, Any]) -> bool:
            return with_revocation_list(config, self.member_group, msp_id, wanted)

        return "updated" if self.update_config(channel, set_revocations) else "unchanged"

    def decode(self, message: str, source: Path) -> str:
        return self.run("configtxlator", "proto_decode", "--type", message, "--input", str(source))

    def encode(self, message: str, source: Path, target: Path) -> None:
        self.run("configtxlator", "proto_encode", "--type", message, "--input", str(source), "--output", str(target))


class OrdererAdmin(Admin):
    member_group = "Orderer"

    def osnadmin(self, action: str, *args: str) -> str:
        cert, key = self.client_tls
        endpoint = ["-o", self.settings["admin_endpoint"], "--ca-file", self.settings["orderer_tls_ca"]]
        return self.run("osnadmin", "channel", action, *endpoint, "--client-cert", cert, "--client-key", key, *args)

    def channels(self, channel: str | None = None) -> dict[str, Any]:
        output = self.osnadmin("list", *(["-c", channel] if channel else []))
        # osnadmin prints "Status: 200" before the JSON body.
        return dict(json.loads(output[output.index("{") :]))

    def consensus(self, channel: str) -> dict[str, str]:
        value = consensus_type(self.current_config(channel))
        return {"type": value["type"], "state": value["state"]}

    def maintenance(self, channel: str, on: bool) -> str:
        wanted = "STATE_MAINTENANCE" if on else "STATE_NORMAL"

        def set_state(config: dict[str, Any]) -> bool:
            value = consensus_type(config)
            if value["state"] == wanted:
                return False
            value["state"] = wanted
            return True

        return "updated" if self.update_config(channel, set_state) else "unchanged"

    def to_raft(self, channel: str, block: str) -> str:
        genesis = json.loads(self.decode("common.Block", Path(block)))
        raft = consensus_type(genesis["data"]["data"][0]["payload"]["data"]["config"])
        if raft["type"] != "etcdraft":
            raise ValueError(f"{block} is not a Raft channel's block (its consensus is {raft['type']})")

        def set_raft(config: dict[str, Any]) -> bool:
            value = consensus_type(config)
            if value["type"] == "etcdraft":
                return False
            if value["state"] != "STATE_MAINTENANCE":
                raise ValueError(f"{channel} is not in maintenance mode: the consensus type changes only there")
            value.update(type="etcdraft", metadata=raft["metadata"])
            return True

        return "updated" if self.update_config(channel, set_raft) else "unchanged"

    def consenter(self, channel: str, endpoint: str, certificate: str) -> str:
        """Give the consenter at endpoint the (renewed) TLS certificate in the channel's configuration, signed by
        the orderer organisation's admin; nothing when it has it already."""
        pem = Path(certificate).read_bytes()

        def set_certificate(config: dict[str, Any]) -> bool:
            return with_consenter_certificate(config, endpoint, pem)

        return "updated" if self.update_config(channel, set_certificate) else "unchanged"

    def batch(self, channel: str, max_message_count: int, preferred_max_bytes: int) -> str:
        """The channel's BatchSize, signed by the orderer organisation's admin; nothing when it is so already."""

        def set_batch(config: dict[str, Any]) -> bool:
            return with_batch_size(config, max_message_count, preferred_max_bytes)

        return "updated" if self.update_config(channel, set_batch) else "unchanged"

    def remove(self, channel: str) -> str:
        listed = self.channels()
        served = [entry["name"] for entry in (listed.get("channels") or []) + [listed.get("systemChannel") or {}]]
        if channel not in served:
            return "absent"
        self.osnadmin("remove", "-c", channel)
        return "removed"

    def join(self, channel: str, block: str) -> None:
        self.osnadmin("join", "-c", channel, "-b", block)

    def touch_config(self, channel: str) -> str:
        """Submit the update and return once this orderer has ordered it (update_config): the next update is
        computed from the configuration this one leaves (Kafka answers a broadcast before the block is cut).
        Returns the BatchTimeout written."""

        def batch_timeout(config: dict[str, Any]) -> dict[str, Any]:
            value: dict[str, Any] = config["channel_group"]["groups"]["Orderer"]["values"]["BatchTimeout"]["value"]
            return value

        # One target, so that an update submitted again (update_config) does not rewrite it once more.
        target = rewritten(batch_timeout(self.current_config(channel))["timeout"])

        def rewrite_batch_timeout(config: dict[str, Any]) -> bool:
            value = batch_timeout(config)
            if value["timeout"] == target:
                return False
            value["timeout"] = target
            return True

        self.update_config(channel, rewrite_batch_timeout)
        return target


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

    def spec_path(self, channel: str, spec: str | None) -> str:
        """The expected configuration given, else the one the fabric_peer role wrote for the channel."""
        return spec or f"{self.settings['channel_dir']}/{channel}.expected.json"

    def check_genesis(self, channel: str, block: str, spec: str | None = None, what: str | None = None) -> str:
        """Refuse (NotTheInventorys) a genesis block that is not the inventory's channel."""
        decoded = json.loads(self.decode("common.Block", Path(block)))
        check_config(channel, decoded, load_spec(self.spec_path(channel, spec)), what or f"block 0 ({block})", True)
        return "matches the inventory"

    def create_channel(self, channel: str, transaction: str, target: str, spec: str | None = None) -> str:
        """Create the channel, or fetch its genesis block when it exists; the block is written to `target`
        only when it is the inventory's channel (else a channel someone else created is kept nowhere)."""
        with tempfile.TemporaryDirectory() as work:
            block = str(Path(work) / "genesis.block")
            try:
                self.genesis(channel, block)
                outcome = "exists"
            except CommandFailed as missing:
                if "NOT_FOUND" not in str(missing):
                    raise
                create = ["channel", "create", "-c", channel, "-f", transaction, "--outputBlock", block]
                self.run("peer", *create, *self.orderer_flags())
                outcome = "created"
            self.check_genesis(channel, block, spec, what=f"block 0 from the ordering service (channel {outcome})")
            Path(target).write_bytes(Path(block).read_bytes())
        return outcome

    def join(self, channel: str, block: str, spec: str | None = None) -> str:
        """Join from the genesis block once it is found to be the inventory's channel. A peer that has joined
        is not asked again; the channel's current configuration is checked instead."""
        expected = load_spec(self.spec_path(channel, spec))
        if channel in self.joined():
            self.check_current(channel, expected)
            return "joined already"
        decoded = json.loads(self.decode("common.Block", Path(block)))
        try:
            check_config(channel, decoded, expected, f"not joined: block 0 ({block})", genesis=True)
        except NotTheInventorys:
            if not self.grown_since(channel, block, expected):
                raise
        self.run("peer", "channel", "join", "-b", block)
        return "joined"

    def check_current(self, channel: str, expected: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory() as work:
            current = self.config_block(channel, Path(work))
        number = current["header"].get("number") or 0
        check_config(channel, current, expected, f"the current configuration (block {number})", genesis=False)

    def grown_since(self, channel: str, block: str, expected: dict[str, Any]) -> bool:
        """Whether a genesis block unlike the inventory's channel is the ordering service's block 0 of a channel
        whose configuration has become the inventory's since (an organisation onboarded later, as this one)."""
        # The update that grew it was ordered (submit_update), but this admin's orderer may be a Raft follower
        # a moment behind: until it has the update, it refuses this organisation's admin even block 0.
        deadline = time.monotonic() + ORDERED_WITHIN
        while True:
            try:
                if self.served_genesis(channel) != Path(block).read_bytes():
                    return False
                self.check_current(channel, expected)
                return True
            except CommandFailed:
                if time.monotonic() > deadline:
                    return False
                time.sleep(1)

    def served_genesis(self, channel: str) -> bytes:
        with tempfile.TemporaryDirectory() as work:
            served = Path(work) / "genesis.block"
            self.genesis(channel, str(served))
            return served.read_bytes()

    def snapshot_flags(self) -> list[str]:
        return ["--peerAddress", self.settings["peer"], "--tlsRootCertFile", self.settings["peer_tls_ca"]]

    def snapshots_pending(self, channel: str) -> bool:
        listing = self.run("peer", "snapshot", "listpending", "-c", channel, *self.snapshot_flags())
        return not listing.strip().endswith("[]")

    def snapshot(self, channel: str) -> str:
        completed = Path(self.settings["snapshots_dir"]) / "completed" / channel
        last_block = completed / str(self.height(channel) - 1)
        if not last_block.is_dir():
            # Block 0 asks for the last committed block (or the one being committed).
            self.run("peer", "snapshot", "submitrequest", "-c", channel, "-b", "0", *self.snapshot_flags())
        deadline = time.monotonic() + SNAPSHOT_WITHIN
        while self.snapshots_pending(channel):
            if time.monotonic() > deadline:
                raise CommandFailed(f"the snapshot of {channel} was not written within {SNAPSHOT_WITHIN} s")
            time.sleep(1)
        return str(max(completed.iterdir(), key=lambda folder: int(folder.name)))

    def join_snapshot(self, channel: str, folder: str) -> str:
        if channel in self.joined():
            return "joined already"
        self.run("peer", "channel", "joinbysnapshot", "--snapshotpath", folder)
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

    def add_organisation(self, channel: str, msp_id: str, configtx_dir: str, target: str) -> str:
        definition = json.loads(self.run("configtxgen", "-configPath", configtx_dir, "-printOrg", msp_id))

        def add_member(config: dict[str, Any]) -> bool:
            members = config["channel_group"]["groups"]["Application"]["groups"]
            if msp_id in members:
                return False
            members[msp_id] = definition
            return True

        return "written" if self.write_update(channel, add_member, Path(target)) else "member already"

    def signed_by(self, envelope: Path) -> set[str]:
        """The MSP IDs of the admins whose signatures a configuration update envelope carries."""
        decoded = json.loads(self.decode("common.Envelope", envelope))
        signatures = decoded["payload"]["data"].get("signatures") or []
        return {str(signature["signature_header"]["creator"]["mspid"]) for signature in signatures}

    def require_signers(self, channel: str, config: dict[str, Any], signed: set[str]) -> None:
        needed, unsigned = signers_still_needed(config, "Application", signed)
        if needed:
            whom = " and ".join(unsigned) if needed == len(unsigned) else f"{needed} of {', '.join(unsigned)}"
            raise CommandFailed(
                f"{channel}: changing its members needs its Application Admins policy met; still to sign: the "
                f"admins of {whom} (signed by {', '.join(sorted(signed)) or 'nobody'})"
            )

    def check_signers(self, channel: str, msp_id: str, signers: set[str]) -> str:
        config = self.current_config(channel)
        if msp_id in config["channel_group"]["groups"]["Application"]["groups"]:
            return "member already"
        self.require_signers(channel, config, signers)
        return "enough signers"

    def sign_update(self, envelope: str) -> str:
        if self.settings["msp_id"] in self.signed_by(Path(envelope)):
            return "signed already"
        self.run("peer", "channel", "signconfigtx", "-f", envelope)
        return "signed"

    def submit_update(self, channel: str, envelope: str) -> str:
        """Submit an update the other members signed, and return once it is ordered: whoever relies on it next
        (a new member's peer joining) finds it. Accepted is not ordered (see update_config): an update not
        ordered in time is submitted again; its signatures hold while the configuration it was computed from
        is still the channel's."""
        current = self.current_config(channel)
        signed = self.signed_by(Path(envelope)) | {self.settings["msp_id"]}  # submitting adds this admin's
        self.require_signers(channel, current, signed)
        before = config_sequence(current)
        orderers = [self.settings["orderer"], *consenter_endpoints(current)]
        for _ in range(UPDATE_SUBMISSIONS):
            if not self.broadcast(channel, Path(envelope)):
                continue
            if self.ordered(channel, lambda config: config_sequence(config) <= before, orderers):
                return "updated"
            print(f"{channel}: not ordered after {ORDERED_WITHIN} s, submitting the update again", file=sys.stderr)
        raise CommandFailed(f"{channel}: submitted {UPDATE_SUBMISSIONS} times, the update was never ordered")

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


def unavailable(error: CommandFailed) -> bool:
    return "code = Unavailable" in str(error) or "SERVICE_UNAVAILABLE" in str(error)


def while_unavailable(operation: Callable[[], str]) -> str:
    """Run an operation that checks before it acts again while the ordering service is UNAVAILABLE."""
    attempt = 1
    while True:
        try:
            return operation()
        except CommandFailed as error:
            if not unavailable(error) or attempt == UNAVAILABLE_ATTEMPTS:
                raise
            print(f"ordering service unavailable (attempt {attempt}), trying again: {error}", file=sys.stderr)
        attempt += 1
        time.sleep(UNAVAILABLE_DELAY)


def orderer_main(admin: OrdererAdmin, args: list[str]) -> str:  # noqa: PLR0911, PLR0912 - one case per subcommand
    match args:
        case ["channels"]:
            return json.dumps(admin.channels(), indent=2)
        case ["height", channel]:
            return str(admin.channels(channel)["height"])
        case ["relation", channel]:
            served = admin.channels(channel)
            return f"{served['consensusRelation']} {served['status']}"
        case ["join", channel, block]:
            admin.join(channel, block)
            return "joined"
        case ["genesis", channel, target]:
            admin.genesis(channel, target)
            return target
        case ["touch-config", channel]:
            return while_unavailable(lambda: admin.touch_config(channel))
        case ["consensus", channel]:
            return json.dumps(admin.consensus(channel))
        case ["maintenance", channel, "on" | "off" as state]:
            return while_unavailable(lambda: admin.maintenance(channel, state == "on"))
        case ["to-raft", channel, block]:
            return while_unavailable(lambda: admin.to_raft(channel, block))
        case ["remove", channel]:
            return admin.remove(channel)
        case ["consenter", channel, endpoint, certificate]:
            return while_unavailable(lambda: admin.consenter(channel, endpoint, certificate))
        case ["revocations", channel, *crl_files] if crl_files:
            return admin.revocations(channel, crl_files)
        case ["batch", channel, count, size] if count.isdigit() and size.isdigit():
            return while_unavailable(lambda: admin.batch(channel, int(count), int(size)))
    raise SystemExit(__doc__)


def peer_main(admin: PeerAdmin, args: list[str]) -> str:  # noqa: PLR0911, PLR0912 - one case per subcommand
    match args:
        case ["height", channel]:
            return str(admin.height(channel))
        case ["genesis", channel, target]:
            admin.genesis(channel, target)
            return target
        case ["create-channel", channel, transaction, target, *spec] if len(spec) <= 1:
            return admin.create_channel(channel, transaction, target, *spec)
        case ["check-genesis", channel, block, *spec] if len(spec) <= 1:
            return admin.check_genesis(channel, block, *spec)
        case ["join", channel, block, *spec] if len(spec) <= 1:
            return admin.join(channel, block, *spec)
        case ["snapshot", channel]:
            return admin.snapshot(channel)
        case ["join-snapshot", channel, folder]:
            return admin.join_snapshot(channel, folder)
        case ["anchors", channel, *endpoints] if endpoints:
            return admin.anchors(channel, endpoints)
        case ["revocations", channel, *crl_files] if crl_files:
            return admin.revocations(channel, crl_files)
        case ["add-organisation", channel, msp_id, configtx_dir, envelope]:
            return admin.add_organisation(channel, msp_id, configtx_dir, envelope)
        case ["check-signers", channel, msp_id, signers]:
            return admin.check_signers(channel, msp_id, set(signers.split(",")))
        case ["sign-update", envelope]:
            return admin.sign_update(envelope)
        case ["submit-update", channel, envelope]:
            return admin.submit_update(channel, envelope)
        case ["chaincode-install", package, package_id]:
            return admin.install(package, package_id)
        case ["chaincode-approve", channel, name, version, package_id]:
            return while_unavailable(lambda: admin.approve(channel, name, version, package_id))
        case ["chaincode-commit", channel, name, version, endorsers]:
            return while_unavailable(lambda: admin.commit(channel, name, version, endorsers.split(",")))
        case [] | ["-h" | "--help"]:
            raise SystemExit(__doc__)
    admin.passthrough(args)
    return ""


def main() -> None:
    kind = Path(sys.argv[0]).name.removeprefix("medledger-").removesuffix("-admin")
    if kind not in ("orderer", "peer"):
        raise SystemExit(f"install this command as medledger-orderer-admin or medledger-peer-admin, not {sys.argv[0]}")
    settings = json.loads(Path(os.environ.get(SETTINGS_ENV) or f"/etc/medledger/{kind}/admin.json").read_text())
    try:
        if kind == "orderer":
            print(orderer_main(OrdererAdmin(settings), sys.argv[1:]))
        else:
            print(peer_main(PeerAdmin(settings), sys.argv[1:]))
    except (CommandFailed, ValueError) as failure:
        raise SystemExit(str(failure)) from None


if __name__ == "__main__":
    main()
