{{/*
Its registrar identity at an organisation's CAs, without the release (as medledger-helm-values registers it), and
the volume its enrolment at one of them is written to. Call with (dict "instance" ENTRY "registrar" ENTRY) and, for
the volume, "kind" (msp or tls).
*/}}
{{- define "registry.registrar" -}}
{{- printf "registry-%s-%s" .instance.name (lower .registrar.organisation) -}}
{{- end -}}

{{- define "registry.registrarVolume" -}}
{{- printf "registrar-%s-%s" (lower .registrar.organisation) .kind -}}
{{- end -}}

{{/*
An instance's own settings (services/medledger_registry/settings.py), beside the base's and its database's
(medledger-common.service), as roles/registry writes them on the VMs: its two keys, whose SAs approve, and its
registrar at each registered organisation's enrolment and TLS CAs. JSON.
*/}}
{{- define "registry.settings" -}}
{{- $context := .context -}}
{{- $registrars := dict -}}
{{- range .instance.registrars -}}
{{- $organisation := fromJson (include "medledger-common.organisation" (dict "context" $context "name" .organisation)) -}}
{{- $scope := dict "instance" $.instance "registrar" . -}}
{{- $msp := include "registry.registrarVolume" (merge (dict "kind" "msp") $scope) -}}
{{- $tls := include "registry.registrarVolume" (merge (dict "kind" "tls") $scope) -}}
{{- $_ := set $registrars .mspId (dict
      "ca_address" (printf "%s:7054" (include "medledger-common.caServiceName" (dict "context" $context "server" $organisation.ca)))
      "ca_name" (printf "ca-%s" (lower .organisation)) "tls_ca_name" (printf "tlsca-%s" $organisation.ca)
      "affiliation" (lower .organisation) "msp" (printf "/var/run/medledger/%s" $msp)
      "tls" (dict "certificate" (printf "/var/run/medledger/%s/tls.crt" $tls) "key" (printf "/var/run/medledger/%s/tls.key" $tls))
      "roles" .roles) -}}
{{- end -}}
{{- toJson (dict
      "rid_encryption_key_file" "/var/run/medledger/keys/rid-encryption"
      "rid_lookup_key_file" "/var/run/medledger/keys/rid-lookup"
      "approver_msp_id" .instance.approverMspId
      "ca_tls_root" "/etc/medledger/trust/tls-root.pem"
      "registrars" $registrars) -}}
{{- end -}}
