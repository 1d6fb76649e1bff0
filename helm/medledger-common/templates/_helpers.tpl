{{/*
Labels: the recommended app.kubernetes.io set. Call with (dict "context" $ "component" NAME); the selector's
subset (name, instance, component) never changes across upgrades.
*/}}
{{- define "medledger-common.selectorLabels" -}}
app.kubernetes.io/name: {{ .context.Chart.Name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "medledger-common.labels" -}}
{{ include "medledger-common.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: medledger
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
An image: our registry name (images are imported into each node's containerd, never pulled), the repository
and the tag, which is the artifact's version and never `latest`. Call with (dict "image" IMAGE "global" GLOBAL).
*/}}
{{- define "medledger-common.image" -}}
{{- $registry := .image.registry -}}
{{- if and .global .global.imageRegistry -}}{{- $registry = .global.imageRegistry -}}{{- end -}}
{{- if eq (toString .image.tag) "latest" -}}
{{- fail (printf "image %s: the tag `latest` names no release; give the artifact's version" .image.repository) -}}
{{- end -}}
{{- printf "%s/%s:%s" $registry .image.repository (toString .image.tag) -}}
{{- end -}}

{{/* Pods run as the images' unprivileged user, with the runtime's default seccomp profile. */}}
{{- define "medledger-common.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Containers: no privilege escalation, no capabilities, a read-only root file system. */}}
{{- define "medledger-common.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}
