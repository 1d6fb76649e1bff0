{{/* A server's StatefulSet (and Service) name; its one pod is <name>-0. Call with (dict "context" $ "server" ENTRY). */}}
{{- define "postgresql.name" -}}
{{- include "medledger-common.postgresqlServer" (dict "context" .context "name" .server.name) -}}
{{- end -}}

{{/* The names a server's certificate carries: its Service's, which the services dial with verify-full. */}}
{{- define "postgresql.hosts" -}}
{{- $name := include "postgresql.name" . -}}
{{- $service := printf "%s.%s" $name .context.Release.Namespace -}}
- {{ $name }}
- {{ $service }}
- {{ $service }}.svc
- {{ $service }}.svc.cluster.local
{{- end -}}
