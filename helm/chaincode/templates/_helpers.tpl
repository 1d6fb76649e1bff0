{{/*
The chaincode servers to run: one per chaincode and member organisation of its channel, as a JSON list of
{"organisation": NAME, "chaincode": ENTRY} (wrapped in {"servers": [...]}) for fromJson. Call with the root context.
*/}}
{{- define "chaincode.servers" -}}
{{- $channels := dict -}}
{{- range .Values.global.channels }}{{ $_ := set $channels .name .organisations }}{{ end -}}
{{- $servers := list -}}
{{- range $chaincode := .Values.global.chaincodes -}}
{{- if not (hasKey $channels .channel) -}}
{{- fail (printf "global.chaincodes: chaincode %s is for channel %s, which global.channels lacks" .name .channel) -}}
{{- end -}}
{{- range get $channels .channel -}}
{{- $servers = append $servers (dict "organisation" . "chaincode" $chaincode) -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "servers" $servers) -}}
{{- end -}}

{{/* The MSP IDs of the organisations of a kind, comma-separated. Call with (dict "context" $ "kind" KIND). */}}
{{- define "chaincode.mspIds" -}}
{{- $found := list -}}
{{- range .context.Values.global.organisations }}{{ if eq .kind $.kind }}{{ $found = append $found .mspId }}{{ end }}{{ end -}}
{{- join "," $found -}}
{{- end -}}
