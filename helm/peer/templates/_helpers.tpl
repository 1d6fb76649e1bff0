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

{{/*
A Job in which a peer organisation's admin (enrolled there, or read back from the Secrets of fixed names that
keep it) runs one of files/ with Fabric's CLIs: the channel Job and the chaincode Job. Call with (dict "context" $
"organisation" ORG "name" JOB-NAME "component" COMPONENT "script" FILE "env" LIST-OF-{name,value}). Its pod has
every organisation's verifying MSP (from their CA servers, checked against the roots), the peers' settings and
scripts, configtx.yaml and medledger-peer-admin.
*/}}
{{- define "peer.adminJob" -}}
{{- $ := .context -}}
{{- $organisation := .organisation -}}
{{- $admin := include "peer.admin" $organisation.name -}}
{{- $account := printf "%s-%s" $.Release.Name $admin -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .name }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "medledger-common.labels" (dict "context" $ "component" .component) | nindent 4 }}
spec:
  backoffLimit: 6
  template:
    metadata:
      labels:
        {{- include "medledger-common.labels" (dict "context" $ "component" .component) | nindent 8 }}
    spec:
      serviceAccountName: {{ $account }}
      automountServiceAccountToken: false
      restartPolicy: OnFailure
      securityContext:
        {{- include "medledger-common.podSecurityContext" $ | nindent 8 }}
      initContainers:
        - {{ include "medledger-common.enrolContainer" (dict "context" $ "organisation" $organisation "hosts" (list)
              "identity" $admin "volume" "admin-tls" "secretName" (printf "%s-tls" $account)) | nindent 10 | trim }}
        - {{ include "medledger-common.enrolContainer" (dict "context" $ "organisation" $organisation "hosts" (list)
              "kind" "msp" "identity" $admin "volume" "admin-msp" "secretName" (printf "%s-msp" $account)) | nindent 10 | trim }}
        # The members' verifying MSPs: where configtx.yaml points (a creation transaction carries them), and the
        # TLS CAs of every organisation's peers.
        - {{ include "medledger-common.verifyingMspsContainer" $ | nindent 10 | trim }}
      containers:
        - name: admin
          image: {{ include "medledger-common.image" (dict "image" $.Values.image "global" $.Values.global) }}
          imagePullPolicy: {{ $.Values.image.pullPolicy }}
          command: [/bin/sh, /etc/medledger/peer/{{ .script }}]
          env:
            - {name: FABRIC_CFG_PATH, value: /etc/medledger/peer}
            - {name: ORGANISATION, value: {{ $organisation.name }}}
            - {name: MSP_ID, value: {{ $organisation.mspId }}}
            - {name: ORDERER_ORGANISATION, value: {{ (fromJson (include "medledger-common.organisationOfKind" (dict "context" $ "kind" "orderer"))).name }}}
            - {name: ORDERER, value: {{ include "peer.orderer" $ }}}
            - {name: WAIT_SECONDS, value: {{ $.Values.enrolWait | quote }}}
            {{- range .env }}
            - {name: {{ .name }}, value: {{ .value | quote }}}
            {{- end }}
          securityContext:
            {{- include "medledger-common.containerSecurityContext" $ | nindent 12 }}
          volumeMounts:
            - {name: work, mountPath: /var/run/medledger/genesis}
            - {name: admin-tls, mountPath: /var/run/medledger/admin-tls, readOnly: true}
            - {name: admin-msp, mountPath: /var/run/medledger/admin-msp, readOnly: true}
            - {name: config, mountPath: /etc/medledger/peer, readOnly: true}
            - {name: configtx, mountPath: /etc/medledger/configtx, readOnly: true}
            - {name: admin-command, mountPath: /etc/medledger/admin, readOnly: true}
      volumes:
        - {{ include "medledger-common.identityVolume" "admin-tls" | nindent 10 | trim }}
        - {{ include "medledger-common.identityVolume" "admin-msp" | nindent 10 | trim }}
        - name: work
          emptyDir: {sizeLimit: 64Mi}
        - name: trust
          configMap:
            name: {{ include "medledger-common.trustConfigMap" $ }}
        - {{ include "medledger-common.apiTokenVolume" "api-token" | nindent 10 | trim }}
        - name: config
          configMap:
            name: {{ $.Release.Name }}-peer-config
        - name: configtx
          configMap:
            name: {{ $.Release.Name }}-orderer-config
            items: [{key: configtx.yaml, path: configtx.yaml}]
        - name: admin-command
          configMap:
            name: {{ $.Release.Name }}-peer-admin
            items:
              - {key: medledger_fabric_admin.py, path: medledger-peer-admin}
              - {key: medledger_channel_config.py, path: medledger_channel_config.py}
              - {key: medledger_chaincode_package.py, path: medledger_chaincode_package.py}
{{- end -}}
