{{/* The StatefulSet's name, whose pods are <name>-<ordinal>: their identities are registered under those names. */}}
{{- define "zookeeper.name" -}}
{{- printf "%s-zookeeper" .Release.Name -}}
{{- end -}}

{{/* The headless Service that gives each server its DNS name (published before it is ready: the quorum forms through them). */}}
{{- define "zookeeper.headless" -}}
{{- printf "%s-headless" (include "zookeeper.name" .) -}}
{{- end -}}

{{/* The pods' names, in order. */}}
{{- define "zookeeper.pods" -}}
{{- range $ordinal := until (int .Values.replicaCount) }}
- {{ printf "%s-%d" (include "zookeeper.name" $) $ordinal }}
{{- end }}
{{- end -}}

{{/* A server's fully qualified name. Call with (dict "context" $ "pod" POD). */}}
{{- define "zookeeper.fqdn" -}}
{{- printf "%s.%s.%s.svc.cluster.local" .pod (include "zookeeper.headless" .context) .context.Release.Namespace -}}
{{- end -}}
