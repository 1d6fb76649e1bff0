#!/bin/sh
# SeaweedFS in its pod: security.toml (the JWT keys, mutual TLS between the components, which admit the pod's own
# certificate alone) and s3.json (the storage service's S3 identity) written into the pod's memory, from the keys
# medledger-k8s-secret wrote, then `weed server` from that folder (it reads security.toml from its working
# directory). The master, volume and filer listen on loopback; only the S3 gateway listens on the pod's address.
set -eu
umask 077
keys=/var/run/medledger/keys
tls=/var/run/medledger/tls
config=/var/run/medledger/config

signing() {
    printf '[%s]\nkey = "%s"\nexpires_after_seconds = 10\n' "$1" "$(cat "$keys/$2")"
}
{
    signing jwt.signing write
    signing jwt.signing.read read
    signing jwt.filer_signing filer-write
    signing jwt.filer_signing.read filer-read
    printf '[access]\nui = false\n[grpc]\nca = "%s/ca.crt"\n' "$tls"
    for component in volume master filer s3; do
        printf '[grpc.%s]\ncert = "%s/tls-chain.crt"\nkey = "%s/tls.key"\nallowed_commonNames = "%s"\n' \
            "$component" "$tls" "$tls" "$POD_NAME"
    done
    printf '[grpc.client]\ncert = "%s/tls-chain.crt"\nkey = "%s/tls.key"\n' "$tls" "$tls"
    printf '[https.client]\nenabled = true\ncert = "%s/tls-chain.crt"\nkey = "%s/tls.key"\nca = "%s/ca.crt"\n' \
        "$tls" "$tls" "$tls"
    for component in volume master filer; do
        printf '[https.%s]\ncert = "%s/tls-chain.crt"\nkey = "%s/tls.key"\nca = "%s/ca.crt"\n' \
            "$component" "$tls" "$tls" "$tls"
    done
} > "$config/security.toml"
printf '{"identities": [{"name": "storage", "credentials": [{"accessKey": "%s", "secretKey": "%s"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}\n' "$S3_ACCESS_KEY" "$(cat /var/run/medledger/s3/secret)" \
    > "$config/s3.json"
cd "$config"
# Its log goes to the pod's log; its components' local gRPC sockets go to /tmp.
exec weed -logtostderr server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir=/var/lib/medledger/seaweedfs \
    -master.port="$MASTER_PORT" -master.volumeSizeLimitMB="$VOLUME_SIZE_LIMIT_MB" \
    -volume.port="$VOLUME_PORT" -volume.max="$VOLUME_MAX" \
    -filer -filer.port="$FILER_PORT" \
    -s3 -s3.port="$S3_PORT" -s3.ip.bind=0.0.0.0 -s3.config="$config/s3.json" \
    -s3.cert.file="$tls/tls-chain.crt" -s3.key.file="$tls/tls.key" -s3.port.iceberg=0 -s3.port.lance=0 \
    -master.telemetry=false
