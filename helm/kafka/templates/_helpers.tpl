{{/* The StatefulSet's name, whose pods are <name>-<ordinal>: their identities are registered under those names. */}}
{{- define "kafka.name" -}}
{{- printf "%s-kafka" .Release.Name -}}
{{- end -}}

{{/* The headless Service that gives each broker the DNS name it advertises. */}}
{{- define "kafka.headless" -}}
{{- printf "%s-headless" (include "kafka.name" .) -}}
{{- end -}}

{{/* The pods' names, in order. */}}
{{- define "kafka.pods" -}}
{{- range $ordinal := until (int .Values.replicaCount) }}
- {{ printf "%s-%d" (include "kafka.name" $) $ordinal }}
{{- end }}
{{- end -}}

{{/*
The subject every broker presents to ZooKeeper (without the release): the znodes one broker makes, the others
must change, and ZooKeeper's ACLs name a subject. Registered with one enrolment per broker.
*/}}
{{- define "kafka.zookeeperClient" -}}
kafka-zookeeper-client
{{- end -}}

{{/* The ensemble's client Service (helm/zookeeper), whose certificate names it. */}}
{{- define "kafka.zookeeperConnect" -}}
{{- printf "%s-zookeeper.%s.svc.cluster.local:%d" .Release.Name .Release.Namespace (int .Values.zookeeper.port) -}}
{{- end -}}

{{/* The brokers' principals (their certificates' common names): Kafka's super users. */}}
{{- define "kafka.superUsers" -}}
{{- $users := list -}}
{{- range (fromYamlArray (include "kafka.pods" .)) -}}{{- $users = append $users (printf "User:%s" .) -}}{{- end -}}
{{- join ";" $users -}}
{{- end -}}


{{/* kafka-acls' --allow-principal arguments: each client's certificate name (its pod's, with the release). */}}
{{- define "kafka.clientPrincipals" -}}
{{- $arguments := list -}}
{{- range .Values.clients -}}
{{- $arguments = append $arguments (printf "--allow-principal User:%s-%s" $.Release.Name .) -}}
{{- end -}}
{{- join " " $arguments -}}
{{- end -}}
