{{/* A store's StatefulSet (and Service) name; its one pod is <name>-0. Call with (dict "context" $ "store" ENTRY). */}}
{{- define "seaweedfs.name" -}}
{{- include "medledger-common.objectStore" (dict "context" .context "name" .store.name) -}}
{{- end -}}
