"""An organisation's anchor peers in a channel's configuration (the channel Job's files/channels.sh).

  anchors.py BLOCK.json MSP_ID CHANNEL HOST:PORT,... PREFIX
      exit 0 when the channel names these anchor peers already; else exit 1 and write PREFIX.current.json
      and PREFIX.wanted.json, the configuration as it is and with the anchor peers, for configtxlator
  anchors.py --present BLOCK.json MSP_ID,...
      exit 0 when the channel names anchor peers of each of these organisations; else exit 1
  anchors.py --envelope UPDATE.json CHANNEL ENVELOPE.json
      wrap a computed configuration update in the envelope `peer channel update` signs and sends
"""

import copy
import json
import sys


def configuration(block_path):
    return json.load(open(block_path))["data"]["data"][0]["payload"]["data"]["config"]


def anchor_peers(config, msp_id):
    group = config["channel_group"]["groups"]["Application"]["groups"][msp_id]
    return group["values"].get("AnchorPeers", {}).get("value", {}).get("anchor_peers", [])


def present(block_path, msp_ids):
    config = configuration(block_path)
    return 0 if all(anchor_peers(config, msp_id) for msp_id in msp_ids.split(",")) else 1


def anchors(block_path, msp_id, channel, endpoints, prefix):
    config = configuration(block_path)
    wanted_peers = [{"host": host, "port": int(port)} for host, port in (e.rsplit(":", 1) for e in endpoints.split(","))]
    current = anchor_peers(config, msp_id)
    if current == wanted_peers:
        return 0
    wanted = copy.deepcopy(config)
    wanted["channel_group"]["groups"]["Application"]["groups"][msp_id]["values"]["AnchorPeers"] = {
        "mod_policy": "Admins", "value": {"anchor_peers": wanted_peers}, "version": "0"}
    json.dump(config, open(f"{prefix}.current.json", "w"))
    json.dump(wanted, open(f"{prefix}.wanted.json", "w"))
    print(f"{channel}: anchor peers {current} -> {wanted_peers}")
    return 1


def envelope(update_path, channel, out):
    update = json.load(open(update_path))
    json.dump({"payload": {"header": {"channel_header": {"channel_id": channel, "type": 2}},
                           "data": {"config_update": update}}}, open(out, "w"))
    return 0


if __name__ == "__main__":
    modes = {"--envelope": envelope, "--present": present}
    sys.exit(modes[sys.argv[1]](*sys.argv[2:]) if sys.argv[1] in modes else anchors(*sys.argv[1:]))
