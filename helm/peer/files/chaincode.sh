#!/bin/sh
# A peer organisation's chaincode Job (helm/peer's chaincode-job.yaml), as its admin, with the VMs' command
# medledger-peer-admin: for each "name,channel,version,label,address,endorsers" of CHAINCODES, write the package
# its servers answer to (the VMs' package program), install it on each of its peers in PEERS
# ("endpoint=channel,channel") that joined the channel, approve the definition for the organisation (the next
# sequence for a new version) and, where ENDORSERS is not "-" (the channel's first member commits), commit it
# once every member approved, endorsed by one peer of each ("address=tls-ca;..."). Every step looks first: a
# second run changes nothing.
JOB=chaincode
. /etc/medledger/peer/admin.sh
# The admin's identity where medledger-peer-admin looks: <identity>/msp and <identity>/tls/server.{crt,key}.
mkdir -p "$work/admin/tls"
ln -sf /var/run/medledger/admin-tls/tls-chain.crt "$work/admin/tls/server.crt"
ln -sf /var/run/medledger/admin-tls/tls.key "$work/admin/tls/server.key"
ln -sfn /var/run/medledger/admin-msp "$work/admin/msp"

admin() {  # PEER-ENDPOINT ARGUMENTS...: medledger-peer-admin, as this organisation's admin, against that peer
  endpoint=$1
  shift
  printf '{"bin": "%s", "cli_config": "%s", "msp_id": "%s", "admin_identity": "%s", "orderer": "%s",
    "orderer_tls_ca": "%s", "peer": "%s", "peer_tls_ca": "%s", "channel_dir": "%s"}\n' \
    "$(dirname "$(command -v peer)")" "$FABRIC_CFG_PATH" "$MSP_ID" "$work/admin" "$ORDERER" "$work/orderer-tls.pem" \
    "$endpoint" "$work/peer-tls.pem" "$work" > "$work/admin.json"
  MEDLEDGER_ADMIN_SETTINGS=$work/admin.json python3 /etc/medledger/admin/medledger-peer-admin "$@"
}

joined() {  # PEER-ENDPOINT CHANNEL
  admin "$1" channel list 2>/dev/null | grep -qx "$2"
}

for chaincode in $CHAINCODES; do
  IFS=, read -r name channel version label address endorsers <<ENTRY
$chaincode
ENTRY
  package_id=$(python3 /etc/medledger/admin/medledger_chaincode_package.py --write "$work/$label.tar.gz" "$label" \
    "$address" "$DIAL_TIMEOUT")
  approver=
  for peer in $PEERS; do
    endpoint=${peer%%=*}
    case ",${peer#*=}," in *",$channel,"*) ;; *) continue ;; esac
    patiently "$endpoint joining $channel" joined "$endpoint" "$channel"
    outcome=$(admin "$endpoint" chaincode-install "$work/$label.tar.gz" "$package_id")
    echo "chaincode: $package_id on $endpoint: $outcome"
    approver=${approver:-$endpoint}
  done
  outcome=$(admin "$approver" chaincode-approve "$channel" "$name" "$version" "$package_id")
  echo "chaincode: $name $version on $channel for $ORGANISATION: $outcome"
  if [ "$endorsers" != - ]; then
    outcome=$(admin "$approver" chaincode-commit "$channel" "$name" "$version" "$(echo "$endorsers" | tr ';' ',')")
    echo "chaincode: $name $version on $channel: $outcome"
  fi
done
