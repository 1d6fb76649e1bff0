{{/*
Checks no schema can express: how the topology's parts refer to each other. Each failure names the value and
stops the install before any resource is created, as the playbooks' preflight does for an inventory.
*/}}
{{- define "medledger.validate" -}}
{{- $organisations := dict -}}
{{- range .Values.global.organisations }}{{ $_ := set $organisations .name . }}{{ end -}}
{{- $channels := dict -}}
{{- range .Values.global.channels -}}
{{- $channel := . -}}
{{- range .organisations -}}
{{- if not (hasKey $organisations .) -}}
{{- fail (printf "global.channels: channel %s names organisation %s, which global.organisations lacks" $channel.name .) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $channels .name .organisations -}}
{{- end -}}
{{- range .Values.peer.peers -}}
{{- $peer := . -}}
{{- if not (hasKey $organisations .organisation) -}}
{{- fail (printf "peer.peers: peer %s belongs to organisation %s, which global.organisations lacks" .name .organisation) -}}
{{- end -}}
{{- range .channels -}}
{{- if not (hasKey $channels .) -}}
{{- fail (printf "peer.peers: peer %s joins channel %s, which global.channels lacks" $peer.name .) -}}
{{- end -}}
{{- if not (has $peer.organisation (get $channels .)) -}}
{{- fail (printf "peer.peers: peer %s joins channel %s, of which its organisation %s is not a member" $peer.name . $peer.organisation) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range .Values.global.chaincodes -}}
{{- if not (hasKey $channels .channel) -}}
{{- fail (printf "global.chaincodes: chaincode %s is for channel %s, which global.channels lacks" .name .channel) -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.global.consensus "kafka" -}}
{{- if not (and .Values.kafka.enabled .Values.zookeeper.enabled) -}}
{{- fail "global.consensus kafka needs kafka.enabled and zookeeper.enabled" -}}
{{- end -}}
{{- if eq (mod (int .Values.zookeeper.replicaCount) 2) 0 -}}
{{- fail (printf "zookeeper.replicaCount %d is even: an ensemble of %d survives no more failures than one of %d; make it odd" (int .Values.zookeeper.replicaCount) (int .Values.zookeeper.replicaCount) (sub (int .Values.zookeeper.replicaCount) 1)) -}}
{{- end -}}
{{- if gt (int .Values.kafka.replicationFactor) (int .Values.kafka.replicaCount) -}}
{{- fail (printf "kafka.replicationFactor %d is above kafka.replicaCount %d: no partition could be created" (int .Values.kafka.replicationFactor) (int .Values.kafka.replicaCount)) -}}
{{- end -}}
{{- if gt (int .Values.kafka.minInsyncReplicas) (int .Values.kafka.replicationFactor) -}}
{{- fail (printf "kafka.minInsyncReplicas %d is above kafka.replicationFactor %d: no write could be acknowledged" (int .Values.kafka.minInsyncReplicas) (int .Values.kafka.replicationFactor)) -}}
{{- end -}}
{{- end -}}
{{- $registered := dict -}}
{{- range (index .Values "fabric-ca").registrations }}{{ $_ := set $registered .name . }}{{ end -}}
{{- if .Values.zookeeper.enabled -}}
{{- range $ordinal := until (int .Values.zookeeper.replicaCount) -}}
{{- if not (hasKey $registered (printf "zookeeper-%d" $ordinal)) -}}
{{- fail (printf "fabric-ca.registrations lacks zookeeper-%d, one of zookeeper.replicaCount's %d servers: render the values again with medledger-helm-values" $ordinal (int $.Values.zookeeper.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if .Values.kafka.enabled -}}
{{- range $ordinal := until (int .Values.kafka.replicaCount) -}}
{{- if not (hasKey $registered (printf "kafka-%d" $ordinal)) -}}
{{- fail (printf "fabric-ca.registrations lacks kafka-%d, one of kafka.replicaCount's %d brokers: render the values again with medledger-helm-values" $ordinal (int $.Values.kafka.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- $shared := get $registered "kafka-zookeeper-client" | default dict -}}
{{- if lt (int ($shared.enrolments | default 0)) (int .Values.kafka.replicaCount) -}}
{{- fail (printf "fabric-ca.registrations lacks kafka-zookeeper-client with %d enrolments, one per broker (the subject they share towards ZooKeeper): render the values again with medledger-helm-values" (int .Values.kafka.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- range $ordinal := until (int .Values.orderer.replicaCount) -}}
{{- include "medledger.registered" (dict "context" $ "name" (printf "orderer-%d" $ordinal) "role" "orderer"
     "why" (printf "one of orderer.replicaCount's %d orderers" (int $.Values.orderer.replicaCount))) -}}
{{- end -}}
{{- $admins := dict -}}
{{- range .Values.peer.peers -}}
{{- include "medledger.registered" (dict "context" $ "name" (printf "%s-0" .name) "role" "peer" "why" (printf "peer %s's pod" .name)) -}}
{{- $_ := set $admins .organisation true -}}
{{- end -}}
{{- range keys $admins | sortAlpha -}}
{{- include "medledger.registered" (dict "context" $ "name" (printf "%s-admin" (lower .)) "role" "admin" "why" (printf "the admin of %s, whose channel Job joins its peers" .)) -}}
{{- end -}}
{{- range $chaincode := .Values.global.chaincodes -}}
{{- range get $channels .channel -}}
{{- include "medledger.registered" (dict "context" $ "name" (include "medledger-common.chaincodeIdentity" (dict "organisation" . "chaincode" $chaincode)) "role" "client" "why" (printf "the TLS identity of %s's %s servers" . $chaincode.name)) -}}
{{- end -}}
{{- end -}}
{{- if .Values.kafka.enabled -}}
{{- $clients := list -}}
{{- range $ordinal := until (int .Values.orderer.replicaCount) }}{{ $clients = append $clients (printf "orderer-%d" $ordinal) }}{{ end -}}
{{- if ne (toJson .Values.kafka.clients) (toJson $clients) -}}
{{- fail (printf "kafka.clients %s is not the orderers %s: the brokers would refuse an orderer or serve a stranger; render the values again with medledger-helm-values" (toJson .Values.kafka.clients) (toJson $clients)) -}}
{{- end -}}
{{- if ne (int .Values.orderer.kafkaBrokers) (int .Values.kafka.replicaCount) -}}
{{- fail (printf "orderer.kafkaBrokers %d is not kafka.replicaCount %d: the system channel would name brokers that do not exist" (int .Values.orderer.kafkaBrokers) (int .Values.kafka.replicaCount)) -}}
{{- end -}}
{{- if ne (int .Values.orderer.kafka.replicationFactor) (int .Values.kafka.replicationFactor) -}}
{{- fail (printf "orderer.kafka.replicationFactor %d is not kafka.replicationFactor %d" (int .Values.orderer.kafka.replicationFactor) (int .Values.kafka.replicationFactor)) -}}
{{- end -}}
{{- end -}}
{{- $servers := dict -}}
{{- range .Values.postgresql.servers -}}
{{- $_ := set $servers .name .databases -}}
{{- include "medledger.registeredTls" (dict "context" $ "name" (printf "postgresql-%s-0" .name) "why" (printf "PostgreSQL server %s's pod" .name)) -}}
{{- end -}}
{{- $stores := dict -}}
{{- range .Values.seaweedfs.stores -}}
{{- $_ := set $stores .name true -}}
{{- include "medledger.registeredTls" (dict "context" $ "name" (printf "seaweedfs-%s-0" .name) "why" (printf "object store %s's pod" .name)) -}}
{{- end -}}
{{- range .Values.storage.instances -}}
{{- if not (hasKey $stores .name) -}}
{{- fail (printf "storage.instances: the storage beside %s needs seaweedfs.stores to hold a store %s" .name .name) -}}
{{- end -}}
{{- end -}}
{{- $sites := dict -}}
{{- range $service := list "storage" "registry" "hospital_manager" "sharing_proxy" -}}
{{- $chart := $service | replace "_" "-" -}}
{{- range (index $.Values $chart).instances -}}
{{- $_ := set $sites (printf "%s/%s" $chart .name) true -}}
{{- if not (has $service (get $servers .name | default list)) -}}
{{- fail (printf "%s.instances: the %s beside %s needs postgresql.servers to hold a server %s with the database %s" $chart $chart .name .name $service) -}}
{{- end -}}
{{- include "medledger.registeredTls" (dict "context" $ "name" (printf "%s-%s" $chart .name) "why" (printf "the %s %s's servers" $chart .name)) -}}
{{- end -}}
{{- end -}}
{{- range $chart, $needs := dict "hospital-manager" (list "registry") "sharing-proxy" (list "registry" "storage") -}}
{{- if (index $.Values $chart).instances -}}
{{- range $needs -}}
{{- $endpoint := get (index $.Values $chart) . -}}
{{- if not (hasKey $sites (printf "%s/%s" . ($endpoint.name | default ""))) -}}
{{- fail (printf "%s.%s names no %s of %s.instances: its services could not reach one; render the values again with medledger-helm-values" $chart . . .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $instance := .Values.registry.instances -}}
{{- range .registrars -}}
{{- $name := printf "registry-%s-%s" $instance.name (lower .organisation) -}}
{{- $cas := list -}}
{{- range (index $.Values "fabric-ca").registrations -}}
{{- if and (eq .name $name) (hasKey (.attributes | default dict) "hf.Registrar.Roles") }}{{ $cas = append $cas .ca }}{{ end -}}
{{- end -}}
{{- if or (ne (len $cas) 2) (not (has (printf "ca-%s" (lower .organisation)) $cas)) -}}
{{- fail (printf "fabric-ca.registrations lacks %s with hf.Registrar.Roles at %s's enrolment CA and TLS CA: the registry %s could not register its people; render the values again with medledger-helm-values" $name .organisation $instance.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.kafka.enabled (le (int .Values.kafka.messageMaxBytes) (int .Values.orderer.batch.absoluteMaxBytes)) -}}
{{- fail (printf "kafka.messageMaxBytes %d is not above orderer.batch.absoluteMaxBytes %d: the brokers would refuse a full block" (int .Values.kafka.messageMaxBytes) (int .Values.orderer.batch.absoluteMaxBytes)) -}}
{{- end -}}
{{- if gt (int .Values.orderer.batch.preferredMaxBytes) (int .Values.orderer.batch.absoluteMaxBytes) -}}
{{- fail "orderer.batch.preferredMaxBytes is above orderer.batch.absoluteMaxBytes" -}}
{{- end -}}
{{- end -}}


{{/* Fails unless fabric-ca.registrations holds NAME's TLS identity (type client) and its MSP (type ROLE). */}}
{{- define "medledger.registered" -}}
{{- $kinds := list -}}
{{- range (index .context.Values "fabric-ca").registrations -}}
{{- if eq .name $.name }}{{ $kinds = append $kinds .type }}{{ end -}}
{{- end -}}
{{- if not (and (has "client" $kinds) (has .role $kinds)) -}}
{{- fail (printf "fabric-ca.registrations lacks %s's TLS identity (type client) or its MSP (type %s), %s: render the values again with medledger-helm-values" .name .role .why) -}}
{{- end -}}
{{- end -}}

{{/* Fails unless fabric-ca.registrations holds NAME's TLS identity (type client). */}}
{{- define "medledger.registeredTls" -}}
{{- $found := false -}}
{{- range (index .context.Values "fabric-ca").registrations -}}
{{- if and (eq .name $.name) (eq .type "client") }}{{ $found = true }}{{ end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "fabric-ca.registrations lacks %s's TLS identity (type client), %s: render the values again with medledger-helm-values" .name .why) -}}
{{- end -}}
{{- end -}}
