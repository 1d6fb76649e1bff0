{{/* An instance's Deployment (and Service) name. Call with (dict "context" $ "instance" ENTRY). */}}
{{- define "storage.name" -}}
{{- printf "%s-storage-%s" .context.Release.Name .instance.name -}}
{{- end -}}

{{/*
An instance's settings (services/medledger_storage/settings.py), as roles/storage writes them on the VMs: its
database on the PostgreSQL server and its bucket in the object store beside the same peer, both verified by the TLS
root, and every organisation's verifying MSP.
*/}}
{{- define "storage.settings" -}}
{{- $context := .context -}}
{{- $namespace := $context.Release.Namespace -}}
{{- $values := $context.Values -}}
{{- $organisations := dict -}}
{{- range $values.global.organisations -}}
{{- $_ := set $organisations .mspId (printf "/var/run/medledger/genesis/orgs/%s/msp" .name) -}}
{{- end -}}
{{- $database := include "medledger-common.postgresqlServer" (dict "context" $context "name" .instance.name) -}}
{{- $store := include "medledger-common.objectStore" (dict "context" $context "name" .instance.name) -}}
{{- $settings := dict
      "audience" "storage" "host" "0.0.0.0" "port" (int $values.port)
      "tls" (dict "certificate" "/var/run/medledger/tls/tls-chain.crt" "key" "/var/run/medledger/tls/tls.key")
      "organisations" $organisations
      "request_window_seconds" (int $values.requestWindowSeconds)
      "max_body_bytes" (int64 $values.maxObjectBytes)
      "database" (dict "host" (printf "%s.%s.svc" $database $namespace) "port" (int $values.ports.postgresql)
        "name" "storage" "user" "storage" "password_file" "/var/run/medledger/database/password"
        "server_ca" "/var/run/medledger/tls/ca.crt")
      "s3" (dict "endpoint" (printf "https://%s.%s.svc:%d" $store $namespace (int $values.ports.s3))
        "bucket" $values.bucket "access_key" $values.s3AccessKey "secret_key_file" "/var/run/medledger/s3/secret"
        "ca_file" "/var/run/medledger/tls/ca.crt")
      "public_url" (printf "https://%s.%s.svc:%d" (include "storage.name" .) $namespace (int $values.port))
      "max_object_bytes" (int64 $values.maxObjectBytes)
      "spool_dir" "/var/lib/medledger/spool"
      "proxy_msp_id" .instance.proxyMspId -}}
{{- toPrettyJson $settings -}}
{{- end -}}
