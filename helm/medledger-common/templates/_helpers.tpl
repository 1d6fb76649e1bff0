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

{{/*
The volume that holds a service account token, for the one container of a pod that talks to the API (pods
mount none by default: automountServiceAccountToken is false). Mount it at
/var/run/secrets/kubernetes.io/serviceaccount. Call with the volume's name.
*/}}
{{- define "medledger-common.apiTokenVolume" -}}
name: {{ . }}
projected:
  sources:
    - serviceAccountToken: {path: token, expirationSeconds: 3600}
    - configMap:
        name: kube-root-ca.crt
        items: [{key: ca.crt, path: ca.crt}]
    - downwardAPI:
        items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]
{{- end -}}

{{/* The ConfigMap medledger-k8s-sign writes: the offline roots' certificates. Call with the root context. */}}
{{- define "medledger-common.trustConfigMap" -}}
{{- printf "%s-trust" .Release.Name -}}
{{- end -}}

{{/* A Fabric CA server's Service (helm/fabric-ca names it so). Call with (dict "context" $ "server" NAME). */}}
{{- define "medledger-common.caServiceName" -}}
{{- printf "%s-fabric-ca-%s" .context.Release.Name .server -}}
{{- end -}}

{{/* The organisation of a kind (the first), as JSON for fromJson. Call with (dict "context" $ "kind" KIND). */}}
{{- define "medledger-common.organisationOfKind" -}}
{{- $found := dict -}}
{{- range .context.Values.global.organisations -}}
{{- if and (eq .kind $.kind) (not $found) -}}{{- $found = . -}}{{- end -}}
{{- end -}}
{{- if not $found -}}{{- fail (printf "global.organisations has no organisation of kind %s" .kind) -}}{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{/*
The init container that gives a pod a TLS identity (medledger-k8s-enrol): enrolled at its organisation's TLS
CA with the secret the registration Job keeps for it, for the names it answers to, kept in the Secret
<pod>-<volume>; the files land in the memory volume <volume> (medledger-common.identityVolume), mounted at
/var/run/medledger/<volume>. Call with (dict "context" $ "organisation" ORG "hosts" LIST) where ORG is an entry
of global.organisations and each host may use $(POD_NAME): the pod's own identity, in volume `tls`. "kind" "msp"
enrols the pod's MSP at its organisation's enrolment CA instead (volume `msp`, no hosts). An identity several pods
share (the Kafka brokers' towards ZooKeeper) adds "identity" (its name without the release) and "volume"; a Job's
pod, whose name changes with each run, keeps its identity in a Secret of a fixed name ("secretName").
*/}}
{{- define "medledger-common.enrolContainer" -}}
{{- $values := .context.Values -}}
{{- $server := .organisation.ca -}}
{{- $msp := eq (.kind | default "tls") "msp" -}}
{{- $volume := .volume | default (ternary "msp" "tls" $msp) -}}
{{- $identity := "$(POD_NAME)" -}}
{{- if .identity -}}{{- $identity = printf "%s-%s" .context.Release.Name .identity -}}{{- end -}}
name: {{ $volume }}
image: {{ include "medledger-common.image" (dict "image" $values.initImage "global" $values.global) }}
imagePullPolicy: {{ $values.initImage.pullPolicy }}
command: [medledger-k8s-enrol]
args:
  - --ca-address={{ include "medledger-common.caServiceName" (dict "context" .context "server" $server) }}:7054
  {{- if $msp }}
  - --ca-name=ca-{{ lower .organisation.name }}
  - --kind=msp
  - --enrolment-root=/etc/medledger/trust/enrolment-root.pem
  {{- else }}
  - --ca-name=tlsca-{{ $server }}
  {{- end }}
  - --tls-root=/etc/medledger/trust/tls-root.pem
  - --enrolment-id={{ $identity }}
  - --registration-secret={{ $identity }}-registration
  - --wait={{ $values.enrolWait }}
  {{- range .hosts }}
  - --host={{ . }}
  {{- end }}
  - --out=/var/run/medledger/{{ $volume }}
  - --secret-name={{ .secretName | default (printf "$(POD_NAME)-%s" $volume) }}
env:
  - name: POD_NAME
    valueFrom: {fieldRef: {fieldPath: metadata.name}}
securityContext:
  {{- include "medledger-common.containerSecurityContext" .context | nindent 2 }}
volumeMounts:
  - {name: {{ $volume }}, mountPath: /var/run/medledger/{{ $volume }}}
  - {name: trust, mountPath: /etc/medledger/trust, readOnly: true}
  - {name: api-token, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
{{- end -}}

{{/* A memory volume for an identity's files (keys never touch a disk). Call with the volume's name. */}}
{{- define "medledger-common.identityVolume" -}}
name: {{ . }}
emptyDir: {medium: Memory, sizeLimit: 1Mi}
{{- end -}}

{{/* The volumes the enrolment container needs: `tls` in memory, the roots, its API token. Call with the root context. */}}
{{- define "medledger-common.enrolVolumes" -}}
- {{ include "medledger-common.identityVolume" "tls" | nindent 2 | trim }}
- name: trust
  configMap:
    name: {{ include "medledger-common.trustConfigMap" . }}
- {{ include "medledger-common.apiTokenVolume" "api-token" | nindent 2 | trim }}
{{- end -}}

{{/*
What a component's pods may do with the API: read their registrations and their stored identities, by name,
and store an identity (Kubernetes cannot bound `create` by name). Call with (dict "context" $ "name" NAME
"component" COMPONENT "pods" LIST-OF-POD-NAMES): a ServiceAccount NAME, its Role and RoleBinding. Pods that
also enrol a shared identity add "shared" (its name without the release); "volumes" lists each pod's further
identities by volume (see enrolContainer: a broker's `zookeeper-client`, an orderer's `msp`); "secrets" further
Secrets they read.
*/}}
{{- define "medledger-common.identityAccess" -}}
{{- $names := list -}}
{{- range .pods -}}
{{- $names = append (append $names (printf "%s-registration" .)) (printf "%s-tls" .) -}}
{{- $pod := . -}}
{{- range ($.volumes | default list) -}}
{{- $names = append $names (printf "%s-%s" $pod .) -}}
{{- end -}}
{{- end -}}
{{- $names = concat $names ($.secrets | default list) -}}
{{- if .shared -}}{{- $names = append $names (printf "%s-%s-registration" .context.Release.Name .shared) -}}{{- end -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "medledger-common.labels" . | nindent 4 }}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "medledger-common.labels" . | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [create]
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: {{ toJson $names }}
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "medledger-common.labels" . | nindent 4 }}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: {{ .name }}}
subjects:
  - {kind: ServiceAccount, name: {{ .name }}, namespace: {{ .context.Release.Namespace }}}
{{- end -}}


{{/*
The init container that writes every organisation's verifying MSP (medledger-k8s-genesis msps) from the chains
its CA server serves, each checked against the offline roots, into the volume `work` at
/var/run/medledger/genesis/orgs/<name>/msp, where configtx.yaml points. Call with the root context; the pod has
the volumes `work` and `trust`.
*/}}
{{- define "medledger-common.verifyingMspsContainer" -}}
name: msps
image: {{ include "medledger-common.image" (dict "image" .Values.initImage "global" .Values.global) }}
imagePullPolicy: {{ .Values.initImage.pullPolicy }}
command: [medledger-k8s-genesis, msps]
args:
  - --trust=/etc/medledger/trust
  - --out=/var/run/medledger/genesis/orgs
  - --wait={{ .Values.enrolWait }}
  {{- range .Values.global.organisations }}
  - --organisation
  - {{ .name }}
  - {{ .ca }}
  - {{ include "medledger-common.caServiceName" (dict "context" $ "server" .ca) }}:7054
  {{- end }}
securityContext:
  {{- include "medledger-common.containerSecurityContext" . | nindent 2 }}
volumeMounts:
  - {name: work, mountPath: /var/run/medledger/genesis}
  - {name: trust, mountPath: /etc/medledger/trust, readOnly: true}
{{- end -}}

{{/*
A chaincode server: one per chaincode and member organisation of its channel (helm/chaincode), which that
organisation's peers dial with mutual TLS through the medledger-ccaas builder. Call with (dict "context" $
"organisation" NAME "chaincode" ENTRY) where ENTRY is one of global.chaincodes. "medledger-common.chaincodeServer"
is its Deployment's and Service's name, "medledger-common.chaincodeIdentity" its TLS identity's name without the
release, "medledger-common.chaincodeAddress" the address its package names (so that peers of one organisation
share one package ID) and "medledger-common.chaincodeLabel" its package's label.
*/}}
{{- define "medledger-common.chaincodeIdentity" -}}
{{- printf "%s-%s" (lower .organisation) (.chaincode.name | replace "_" "-") -}}
{{- end -}}

{{- define "medledger-common.chaincodeServer" -}}
{{- printf "%s-%s" .context.Release.Name (include "medledger-common.chaincodeIdentity" .) -}}
{{- end -}}

{{- define "medledger-common.chaincodeAddress" -}}
{{- printf "%s.%s.svc.cluster.local:%d" (include "medledger-common.chaincodeServer" .) .context.Release.Namespace
      (int .chaincode.port) -}}
{{- end -}}

{{/* How long a peer waits for a chaincode server it dials; in the package, hence part of its ID. */}}
{{- define "medledger-common.chaincodeDialTimeout" -}}
10s
{{- end -}}

{{- define "medledger-common.chaincodeLabel" -}}
{{- printf "%s_%s" .chaincode.name (toString .chaincode.version) -}}
{{- end -}}


{{/* An organisation of global.organisations by name, as JSON for fromJson. Call with (dict "context" $ "name" NAME). */}}
{{- define "medledger-common.organisation" -}}
{{- $found := dict -}}
{{- range .context.Values.global.organisations }}{{ if eq .name $.name }}{{ $found = . }}{{ end }}{{ end -}}
{{- if not $found }}{{ fail (printf "organisation %s is not in global.organisations" .name) }}{{ end -}}
{{- toJson $found -}}
{{- end -}}

{{/*
The services' stores, each beside the peer of the host the inventory puts it on, as the VMs have them: a PostgreSQL
server (helm/postgresql) with a database per stateful service there, and an object store (helm/seaweedfs) beside the
storage service. Call with (dict "context" $ "name" PEER). "medledger-common.postgresqlServer" names the server's
StatefulSet and Service, "medledger-common.objectStore" the store's; "medledger-common.databaseSecret" (add
"database" NAME) the Secret with the password of that database's role, which the server and the service each make
or read (medledger-k8s-secret: the first makes it), and "medledger-common.objectStoreSecret" the Secret with the
store's S3 secret key.
*/}}
{{/* The names a Service's certificate carries, which its clients dial. Call with (dict "context" $ "name" SERVICE). */}}
{{- define "medledger-common.serviceHosts" -}}
{{- $service := printf "%s.%s" .name .context.Release.Namespace -}}
- {{ .name }}
- {{ $service }}
- {{ $service }}.svc
- {{ $service }}.svc.cluster.local
{{- end -}}

{{- define "medledger-common.postgresqlServer" -}}
{{- printf "%s-postgresql-%s" .context.Release.Name .name -}}
{{- end -}}

{{- define "medledger-common.databaseSecret" -}}
{{- printf "%s-%s-password" (include "medledger-common.postgresqlServer" .) (.database | replace "_" "-") -}}
{{- end -}}

{{- define "medledger-common.objectStore" -}}
{{- printf "%s-seaweedfs-%s" .context.Release.Name .name -}}
{{- end -}}

{{- define "medledger-common.objectStoreSecret" -}}
{{- printf "%s-s3" (include "medledger-common.objectStore" .) -}}
{{- end -}}

{{/*
The init container that writes a shared secret's values as files (medledger-k8s-secret) into the memory volume
VOLUME, mounted at /var/run/medledger/VOLUME (into its sub-folder FOLDER if given): made here if the other party has
not made it yet. Call with (dict "context" $ "name" CONTAINER "secret" SECRET "keys" LIST "volume" VOLUME
["folder" FOLDER]); the pod has the `api-token` volume.
*/}}
{{- define "medledger-common.secretContainer" -}}
name: {{ .name }}
image: {{ include "medledger-common.image" (dict "image" .context.Values.initImage "global" .context.Values.global) }}
imagePullPolicy: {{ .context.Values.initImage.pullPolicy }}
command: [medledger-k8s-secret]
args:
  - --secret-name={{ .secret }}
  {{- range .keys }}
  - --key={{ . }}
  {{- end }}
  - --out=/var/run/medledger/{{ .volume }}{{ if .folder }}/{{ .folder }}{{ end }}
securityContext:
  {{- include "medledger-common.containerSecurityContext" .context | nindent 2 }}
volumeMounts:
  - {name: {{ .volume }}, mountPath: /var/run/medledger/{{ .volume }}}
  - {name: api-token, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
{{- end -}}

{{/*
A `helm test` hook: a pod that runs SCRIPT (Python, in the services image) with the offline roots at
/etc/medledger/trust and the environment ENV (a dict), and fails when the script does. Call with
(dict "context" $ "name" NAME "script" SCRIPT "env" ENV); the pod is <release>-NAME.
*/}}
{{- define "medledger-common.testPod" -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ .context.Release.Name }}-{{ .name }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "medledger-common.labels" (dict "context" .context "component" .name) | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    {{- include "medledger-common.podSecurityContext" .context | nindent 4 }}
  containers:
    - name: test
      image: {{ include "medledger-common.image" (dict "image" .context.Values.initImage "global" .context.Values.global) }}
      imagePullPolicy: {{ .context.Values.initImage.pullPolicy }}
      command: [python3, -c]
      args:
        - {{ .script | toYaml | indent 10 | trim }}
      env:
        {{- range $key, $value := .env }}
        - {name: {{ $key }}, value: {{ $value | quote }}}
        {{- end }}
      securityContext:
        {{- include "medledger-common.containerSecurityContext" .context | nindent 8 }}
      volumeMounts:
        - {name: trust, mountPath: /etc/medledger/trust, readOnly: true}
  volumes:
    - name: trust
      configMap:
        name: {{ include "medledger-common.trustConfigMap" .context }}
{{- end -}}
