{{/* A server's StatefulSet (and Service) name; its one pod is <name>-0. Call with (dict "context" $ "server" ENTRY). */}}
{{- define "postgresql.name" -}}
{{- include "medledger-common.postgresqlServer" (dict "context" .context "name" .server.name) -}}
{{- end -}}
