{{/*
An instance's own settings (services/medledger_storage/settings.py), beside the base's and its database's
(medledger-common.service), as roles/storage writes them on the VMs: its bucket in the object store beside the
same peer, verified by the TLS root, and whose medledger.proxy identities grant reads. JSON.
*/}}
{{- define "storage.settings" -}}
{{- $context := .context -}}
{{- $values := $context.Values -}}
{{- $namespace := $context.Release.Namespace -}}
{{- $store := include "medledger-common.objectStore" (dict "context" $context "name" .instance.name) -}}
{{- toJson (dict
      "s3" (dict "endpoint" (printf "https://%s.%s.svc:%d" $store $namespace (int $values.ports.s3))
        "bucket" $values.bucket "access_key" $values.s3AccessKey "secret_key_file" "/var/run/medledger/s3/secret"
        "ca_file" "/var/run/medledger/tls/ca.crt")
      "public_url" (printf "https://%s.%s.svc:%d" (include "medledger-common.serviceName" (dict "context" $context "service" "storage" "name" .instance.name)) $namespace (int $values.port))
      "max_object_bytes" (int64 $values.maxObjectBytes)
      "spool_dir" "/var/lib/medledger/spool"
      "proxy_msp_id" .instance.proxyMspId) -}}
{{- end -}}

{{/* Where an upload is kept while its digest is checked: as large as the largest record. Call with $. */}}
{{- define "storage.spool" -}}
name: spool
emptyDir: {sizeLimit: {{ printf "%dMi" (add1 (div (int64 .Values.maxObjectBytes) 1048576)) }}}
{{- end -}}
