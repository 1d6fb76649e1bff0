{{/* The StatefulSet's name, whose pods are <name>-<ordinal>: their identities are registered under those names. */}}
{{- define "orderer.name" -}}
{{- printf "%s-orderer" .Release.Name -}}
{{- end -}}

{{/* The headless Service that gives each orderer the DNS name its certificate carries. */}}
{{- define "orderer.headless" -}}
{{- printf "%s-headless" (include "orderer.name" .) -}}
{{- end -}}

{{/* The pods' names, in order. */}}
{{- define "orderer.pods" -}}
{{- range $ordinal := until (int .Values.replicaCount) }}
- {{ printf "%s-%d" (include "orderer.name" $) $ordinal }}
{{- end }}
{{- end -}}

{{/* The orderers' endpoints (host:port), as channels' configurations name them. */}}
{{- define "orderer.endpoints" -}}
{{- range (fromYamlArray (include "orderer.pods" .)) }}
- {{ printf "%s.%s.%s.svc.cluster.local:%d" . (include "orderer.headless" $) $.Release.Namespace (int $.Values.port) }}
{{- end }}
{{- end -}}

{{/* The Kafka brokers' endpoints (helm/kafka's headless names, which their certificates carry). */}}
{{- define "orderer.kafkaBrokers" -}}
{{- range $ordinal := until (int .Values.kafkaBrokers) }}
- {{ printf "%s-kafka-%d.%s-kafka-headless.%s.svc.cluster.local:%d" $.Release.Name $ordinal $.Release.Name $.Release.Namespace (int $.Values.kafka.port) }}
{{- end }}
{{- end -}}

{{/* The Secret that keeps the system channel's genesis block (medledger-k8s-genesis). */}}
{{- define "orderer.genesisSecret" -}}
{{- printf "%s-genesis" (include "orderer.name" .) -}}
{{- end -}}

{{/* Where configtxgen finds an organisation's verifying MSP, inside the genesis Job. Call with the org's name. */}}
{{- define "orderer.verifyingMsp" -}}
{{- printf "/var/run/medledger/genesis/orgs/%s/msp" . -}}
{{- end -}}
