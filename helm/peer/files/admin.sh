# What a peer organisation's admin Jobs share (sourced by channels.sh and chaincode.sh, which set JOB to their
# name): their work folder, the TLS chains the admin checks the orderers and its own peers with (each one's TLS CA
# and the root), and a bounded wait.
set -eu
work=/var/run/medledger/genesis
orgs=$work/orgs
deadline=$(( $(date +%s) + WAIT_SECONDS ))

cat "$orgs/$ORDERER_ORGANISATION/msp/tlsintermediatecerts/ca.pem" "$orgs/$ORDERER_ORGANISATION/msp/tlscacerts/root.pem" \
  > "$work/orderer-tls.pem"
cat "$orgs/$ORGANISATION/msp/tlsintermediatecerts/ca.pem" "$orgs/$ORGANISATION/msp/tlscacerts/root.pem" \
  > "$work/peer-tls.pem"

patiently() {  # WHAT COMMAND...: the command, again every 3 s until it succeeds or the Job's time is up
  what=$1
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$JOB: $what, not in time" >&2; exit 1; }
    sleep 3
  done
}
