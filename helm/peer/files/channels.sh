#!/bin/sh
# A peer organisation's channel Job (helm/peer's channels-job.yaml), as its admin: create the channels in CREATES
# through the system channel unless they exist, then join each "peer endpoint=channel" of JOINS unless the peer
# has joined. Every step looks first, so a second run changes nothing.
JOB=channels
. /etc/medledger/peer/admin.sh
export CORE_PEER_LOCALMSPID="$MSP_ID" CORE_PEER_MSPCONFIGPATH=/var/run/medledger/admin-msp
export CORE_PEER_TLS_ENABLED=true CORE_PEER_TLS_CLIENTAUTHREQUIRED=true CORE_PEER_TLS_ROOTCERT_FILE="$work/peer-tls.pem"
export CORE_PEER_TLS_CLIENTCERT_FILE=/var/run/medledger/admin-tls/tls-chain.crt
export CORE_PEER_TLS_CLIENTKEY_FILE=/var/run/medledger/admin-tls/tls.key
set -- -o "$ORDERER" --tls --cafile "$work/orderer-tls.pem" --clientauth \
  --certfile /var/run/medledger/admin-tls/tls-chain.crt --keyfile /var/run/medledger/admin-tls/tls.key

genesis() {  # CHANNEL ORDERER-FLAGS...: the channel's block 0, from the orderers, into $work/<channel>.block
  channel=$1
  shift
  peer channel fetch 0 "$work/$channel.block" -c "$channel" "$@" >/dev/null 2>&1
}

genesis_or_config() {  # CHANNEL ORDERER-FLAGS...: the channel's latest configuration block
  channel=$1
  shift
  peer channel fetch config "$work/$channel.config.block" -c "$channel" "$@" >/dev/null 2>&1
}

for channel in $CREATES; do
  if genesis "$channel" "$@"; then
    echo "channels: $channel exists"
    continue
  fi
  configtxgen -configPath /etc/medledger/configtx -profile "$channel" -channelID "$channel" \
    -outputCreateChannelTx "$work/$channel.tx"
  peer channel create -c "$channel" -f "$work/$channel.tx" --outputBlock "$work/$channel.block" "$@"
  echo "channels: created $channel"
done

for join in $JOINS; do
  endpoint=${join%%=*} channel=${join#*=}
  patiently "$channel created by its first member" genesis "$channel" "$@"
  patiently "$endpoint answering" env CORE_PEER_ADDRESS="$endpoint" peer channel list > "$work/joined" 2>/dev/null
  if grep -qx "$channel" "$work/joined"; then
    echo "channels: $endpoint is in $channel"
  else
    CORE_PEER_ADDRESS=$endpoint peer channel join -b "$work/$channel.block"
    echo "channels: $endpoint joined $channel"
  fi
done

configuration_json() {  # CHANNEL ORDERER-FLAGS...: the channel's latest configuration into $work/<channel>.json
  genesis_or_config "$@" &&
    configtxlator proto_decode --type common.Block --input "$work/$1.config.block" --output "$work/$1.json"
}

anchors_present() {  # CHANNEL MSP_IDS ORDERER-FLAGS...: whether the channel names anchor peers of each of MSP_IDS
  of=$1 msp_ids=$2
  shift 2
  configuration_json "$of" "$@" && python3 /etc/medledger/peer/anchors.py --present "$work/$of.json" "$msp_ids"
}

anchors_as_wanted() {  # CHANNEL ENDPOINTS ORDERER-FLAGS...: whether the channel names these anchor peers of ours
  of=$1 wanted=$2
  shift 2
  configuration_json "$of" "$@" &&
    python3 /etc/medledger/peer/anchors.py "$work/$of.json" "$MSP_ID" "$of" "$wanted" "$work/$of"
}

# ANCHORS: "channel=host:port,host:port ..." (this organisation's anchor peers in each of its channels), set by a
# configuration update its admin signs; nothing is submitted when the channel says so already. ANCHORS_AFTER:
# "channel=MSP_ID,MSP_ID ...", the members ahead of us in a channel that set anchor peers too. The updates of a channel
# are made one at a time, in its members' order, each ordered before the next is sent: Fabric's Kafka chain can block a
# channel's ingress for good when two configuration updates race (see roles/fabric_peer/tasks/channel.yml).
for anchor in $ANCHORS; do
  channel=${anchor%%=*} endpoints=${anchor#*=} ahead=
  for earlier in $ANCHORS_AFTER; do
    if [ "${earlier%%=*}" = "$channel" ]; then ahead=${earlier#*=}; fi
  done
  patiently "$channel's configuration" configuration_json "$channel" "$@"
  if [ -n "$ahead" ]; then
    patiently "the anchor peers of $ahead in $channel first" anchors_present "$channel" "$ahead" "$@"
  fi
  if anchors_as_wanted "$channel" "$endpoints" "$@"; then
    echo "channels: $ORGANISATION's anchor peers in $channel are set"
    continue
  fi
  configtxlator proto_encode --type common.Config --input "$work/$channel.current.json" --output "$work/$channel.current.pb"
  configtxlator proto_encode --type common.Config --input "$work/$channel.wanted.json" --output "$work/$channel.wanted.pb"
  configtxlator compute_update --channel_id "$channel" --original "$work/$channel.current.pb" \
    --updated "$work/$channel.wanted.pb" --output "$work/$channel.update.pb"
  configtxlator proto_decode --type common.ConfigUpdate --input "$work/$channel.update.pb" --output "$work/$channel.update.json"
  python3 /etc/medledger/peer/anchors.py --envelope "$work/$channel.update.json" "$channel" "$work/$channel.envelope.json"
  configtxlator proto_encode --type common.Envelope --input "$work/$channel.envelope.json" --output "$work/$channel.envelope.pb"
  peer channel update -c "$channel" -f "$work/$channel.envelope.pb" "$@"
  patiently "$channel ordering the update" anchors_as_wanted "$channel" "$endpoints" "$@" >/dev/null
  echo "channels: set $ORGANISATION's anchor peers in $channel: $endpoints"
done
