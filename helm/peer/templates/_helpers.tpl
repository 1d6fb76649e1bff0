{{/* A peer's StatefulSet and headless Service (its one pod is <name>-0). Call with (dict "context" $ "peer" PEER). */}}
{{- define "peer.name" -}}
{{- printf "%s-%s" .context.Release.Name .peer.name -}}
{{- end -}}

{{/* A peer's endpoint (host:port): its pod's DNS name, which its certificate carries. */}}
{{- define "peer.endpoint" -}}
{{- $name := include "peer.name" . -}}
{{- printf "%s-0.%s.%s.svc.cluster.local:%d" $name $name .context.Release.Namespace (int .context.Values.port) -}}
{{- end -}}

{{/* An organisation of global.organisations by name, as JSON. Call with (dict "context" $ "name" NAME). */}}
{{- define "peer.organisation" -}}
{{- $found := dict -}}
{{- range .context.Values.global.organisations }}{{ if eq .name $.name }}{{ $found = . }}{{ end }}{{ end -}}
{{- if not $found }}{{ fail (printf "peers: organisation %s is not in global.organisations" .name) }}{{ end -}}
{{- toJson $found -}}
{{- end -}}

{{/* Gossip's bootstrap: the other peers of the peer's organisation, or the peer itself when it is alone. */}}
{{- define "peer.gossipBootstrap" -}}
{{- $others := list -}}
{{- range .context.Values.peers -}}
{{- if and (eq .organisation $.peer.organisation) (ne .name $.peer.name) -}}
{{- $others = append $others (include "peer.endpoint" (dict "context" $.context "peer" .)) -}}
{{- end -}}
{{- end -}}
{{- join " " (default (list (include "peer.endpoint" .)) $others) -}}
{{- end -}}

{{/* A peer organisation's admin: its identity's name without the release, and the channel Job's account. */}}
{{- define "peer.admin" -}}
{{- printf "%s-admin" (lower .) -}}
{{- end -}}

{{/* The orderers' Service (helm/orderer), whose names their certificates carry. */}}
{{- define "peer.orderer" -}}
{{- printf "%s-orderer.%s.svc.cluster.local:%d" .Release.Name .Release.Namespace (int .Values.ordererPort) -}}
{{- end -}}
