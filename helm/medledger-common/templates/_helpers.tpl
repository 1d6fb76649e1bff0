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

{{/*
The init container that waits until each ADDRESS ("host:port") accepts a connection, for the chart's enrolWait
seconds: a service whose database or store is not up yet would exit, and Kubernetes' back-off would start it again
only minutes later. Call with (dict "context" $ "addresses" LIST).
*/}}
{{- define "medledger-common.waitContainer" -}}
name: wait
image: {{ include "medledger-common.image" (dict "image" .context.Values.initImage "global" .context.Values.global) }}
imagePullPolicy: {{ .context.Values.initImage.pullPolicy }}
command:
  - python3
  - -c
  - |
    import socket, sys, time
    deadline = time.monotonic() + float(sys.argv[1])
    for address in sys.argv[2:]:
        host, port = address.rsplit(":", 1)
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"{address} does not answer")
                time.sleep(2)
  - {{ .context.Values.enrolWait | quote }}
  {{- range .addresses }}
  - {{ . }}
  {{- end }}
securityContext:
  {{- include "medledger-common.containerSecurityContext" .context | nindent 2 }}
{{- end -}}

{{/*
The `helm test` hook <release>-<service>-answers (see testPod) of a chart of services (medledger-common.service):
it asks each instance's PATH without signing, and each must answer over TLS, verified against the offline TLS root
for the name its clients dial, and refuse the request (401): it is up, and its door is shut to strangers. Call with
(dict "context" $ "service" SERVICE "path" PATH); nothing without instances.
*/}}
{{- define "medledger-common.serviceAnswersHook" -}}
{{- $slug := .service | replace "_" "-" -}}
{{- $urls := list -}}
{{- range .context.Values.instances -}}
{{- $name := include "medledger-common.serviceName" (dict "context" $.context "service" $.service "name" .name) -}}
{{- $urls = append $urls (printf "https://%s.%s.svc:%d%s" $name $.context.Release.Namespace (int $.context.Values.port) $.path) -}}
{{- end -}}
{{- $script := `import os
import ssl
import sys
import urllib.error
import urllib.request

context = ssl.create_default_context(cafile="/etc/medledger/trust/tls-root.pem")
failed = 0
for url in os.environ["SERVICE_URLS"].split():
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            outcome = f"answered {answer.status} to an unsigned request"
    except urllib.error.HTTPError as error:
        outcome = "refuses an unsigned request: OK" if error.code == 401 else f"answered {error.code}"
    except OSError as error:
        outcome = str(error)
    print(f"{url}: {outcome}")
    failed += not outcome.endswith(": OK")
sys.exit(1 if failed else 0)
` -}}
{{- if $urls }}
{{ include "medledger-common.testPod" (dict "context" .context "name" (printf "%s-answers" $slug)
     "env" (dict "SERVICE_URLS" (join " " $urls)) "script" $script) }}
{{- end }}
{{- end -}}

{{/*
A service beside a peer (helm/storage, helm/registry, helm/hospital-manager, helm/sharing-proxy), named
<release>-<service>-<peer>: its settings in a ConfigMap; a Deployment of servers that share its TLS identity
(enrolled at its organisation's TLS CA for its Service's names), trust every organisation's verifying MSP (checked
against the offline roots) and run `medledger-SERVICE --settings`; its Service (the chart's port); and the account
that enrols and reads its Secrets, by name. Call with (dict "context" $ "instance" ENTRY (name, organisation)
"service" SERVICE "audience" AUDIENCE "maxBodyBytes" N "settings" DICT (its own settings, beside the base's)) and
optionally:
- "database" true: its database SERVICE on the PostgreSQL server beside the same peer, whose role's password it
  shares with that server (medledger-k8s-secret), and which it waits for;
- "msp" true: its own enrolment at its organisation's CA (in /var/run/medledger/msp), which signs its requests;
- "identities" (rendered init containers before the MSPs: further identities), "initContainers" (after them),
  "waitFor" (further host:port it waits for), "secrets" (further Secrets it reads), "volumes" (rendered) and
  "mounts" (dicts): the main container's further volumes and their mounts.
*/}}
{{- define "medledger-common.service" -}}
{{- $context := .context -}}
{{- $values := $context.Values -}}
{{- $namespace := $context.Release.Namespace -}}
{{- $slug := .service | replace "_" "-" -}}
{{- $name := include "medledger-common.serviceName" (dict "context" $context "service" .service "name" .instance.name) -}}
{{- $component := printf "%s-%s" $slug .instance.name -}}
{{- $organisation := fromJson (include "medledger-common.organisation" (dict "context" $context "name" .instance.organisation)) -}}
{{- $labels := dict "context" $context "component" $component -}}
{{- $organisations := dict -}}
{{- range $values.global.organisations -}}
{{- $_ := set $organisations .mspId (printf "/var/run/medledger/genesis/orgs/%s/msp" .name) -}}
{{- end -}}
{{- $settings := merge (dict
      "audience" .audience "host" "0.0.0.0" "port" (int $values.port)
      "tls" (dict "certificate" "/var/run/medledger/tls/tls-chain.crt" "key" "/var/run/medledger/tls/tls.key")
      "organisations" $organisations
      "request_window_seconds" (int $values.requestWindowSeconds)
      "max_body_bytes" (int64 .maxBodyBytes)) .settings -}}
{{- $secrets := list -}}
{{- $initContainers := list -}}
{{- $waitFor := .waitFor | default list -}}
{{- $mounts := list -}}
{{- $volumes := list -}}
{{- if .database -}}
{{- $server := include "medledger-common.postgresqlServer" (dict "context" $context "name" .instance.name) -}}
{{- $secret := include "medledger-common.databaseSecret" (dict "context" $context "name" .instance.name "database" .service) -}}
{{- $_ := set $settings "database" (dict "host" (printf "%s.%s.svc" $server $namespace) "port" (int $values.ports.postgresql)
      "name" .service "user" .service "password_file" "/var/run/medledger/database/password"
      "server_ca" "/var/run/medledger/tls/ca.crt") -}}
{{- $secrets = append $secrets $secret -}}
{{- $initContainers = append $initContainers (include "medledger-common.secretContainer" (dict "context" $context
      "name" "database-password" "secret" $secret "keys" (list "password") "volume" "database")) -}}
{{- $waitFor = prepend $waitFor (printf "%s.%s.svc:%d" $server $namespace (int $values.ports.postgresql)) -}}
{{- $mounts = append $mounts (dict "name" "database" "mountPath" "/var/run/medledger/database" "readOnly" true) -}}
{{- $volumes = append $volumes (include "medledger-common.identityVolume" "database") -}}
{{- end -}}
{{- if .msp -}}
{{- $secrets = append $secrets (printf "%s-msp" $name) -}}
{{- $mounts = append $mounts (dict "name" "msp" "mountPath" "/var/run/medledger/msp" "readOnly" true) -}}
{{- $volumes = append $volumes (include "medledger-common.identityVolume" "msp") -}}
{{- end -}}
{{- with .initContainers }}{{ $initContainers = concat $initContainers . }}{{ end -}}
{{- if $waitFor -}}
{{- $initContainers = append $initContainers (include "medledger-common.waitContainer" (dict "context" $context "addresses" $waitFor)) -}}
{{- end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  namespace: {{ $namespace }}
  labels:
    {{- include "medledger-common.labels" $labels | nindent 4 }}
data:
  settings.json: |
    {{- toPrettyJson $settings | nindent 4 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $namespace }}
  labels:
    {{- include "medledger-common.labels" $labels | nindent 4 }}
    medledger.org/organisation: {{ .instance.organisation }}
spec:
  replicas: {{ $values.replicaCount }}
  selector:
    matchLabels:
      {{- include "medledger-common.selectorLabels" $labels | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "medledger-common.labels" $labels | nindent 8 }}
        medledger.org/organisation: {{ .instance.organisation }}
      annotations:
        checksum/settings: {{ toPrettyJson $settings | sha256sum }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: false
      securityContext:
        {{- include "medledger-common.podSecurityContext" $context | nindent 8 }}
      initContainers:
        # Its TLS identity from its organisation's TLS CA, for its Service's names; the servers share it.
        - {{ include "medledger-common.enrolContainer" (dict "context" $context "organisation" $organisation
              "identity" $component "secretName" (printf "%s-tls" $name)
              "hosts" (fromYamlArray (include "medledger-common.serviceHosts" (dict "context" $context "name" $name)))) | nindent 10 | trim }}
        {{- if .msp }}
        # Its enrolment at its organisation's CA, which signs its requests to other services and its transactions.
        - {{ include "medledger-common.enrolContainer" (dict "context" $context "organisation" $organisation "kind" "msp"
              "identity" $component "secretName" (printf "%s-msp" $name)) | nindent 10 | trim }}
        {{- end }}
        {{- range .identities }}
        - {{ . | nindent 10 | trim }}
        {{- end }}
        # Whom it trusts: every organisation's verifying MSP, checked against the offline roots.
        - {{ include "medledger-common.verifyingMspsContainer" $context | nindent 10 | trim }}
        {{- range $initContainers }}
        - {{ . | nindent 10 | trim }}
        {{- end }}
      containers:
        - name: {{ $slug }}
          image: {{ include "medledger-common.image" (dict "image" $values.image "global" $values.global) }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          command: [medledger-{{ $slug }}, --settings, /etc/medledger/{{ .service }}/settings.json]
          ports:
            - {name: https, containerPort: {{ $values.port }}}
          readinessProbe:
            tcpSocket: {port: https}
            periodSeconds: 5
          livenessProbe:
            tcpSocket: {port: https}
            initialDelaySeconds: 30
            periodSeconds: 20
          securityContext:
            {{- include "medledger-common.containerSecurityContext" $context | nindent 12 }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          volumeMounts:
            - {name: tls, mountPath: /var/run/medledger/tls, readOnly: true}
            - {name: trust, mountPath: /etc/medledger/trust, readOnly: true}
            - {name: work, mountPath: /var/run/medledger/genesis, readOnly: true}
            - {name: settings, mountPath: /etc/medledger/{{ .service }}, readOnly: true}
            - {name: tmp, mountPath: /tmp}
            {{- with concat $mounts (.mounts | default list) }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "medledger-common.enrolVolumes" $context | nindent 8 }}
        - name: work
          emptyDir: {sizeLimit: 1Mi}
        - name: settings
          configMap:
            name: {{ $name }}
        - name: tmp
          emptyDir: {sizeLimit: 16Mi}
        {{- range concat $volumes (.volumes | default list) }}
        - {{ . | nindent 10 | trim }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ $namespace }}
  labels:
    {{- include "medledger-common.labels" $labels | nindent 4 }}
spec:
  selector:
    {{- include "medledger-common.selectorLabels" $labels | nindent 4 }}
  ports:
    - {name: https, port: {{ $values.port }}, targetPort: https}
---
{{ include "medledger-common.identityAccess" (dict "context" $context "name" $name "component" $component
     "pods" (list $name) "secrets" (concat $secrets (.secrets | default list))) }}
{{- end -}}

{{/*
Where a service of another chart is reached from a pod, and the TLS CA chain its certificate ends at (its
organisation's, from the verifying MSPs the pod writes): the settings' endpoint of a registry or a storage service.
Call with (dict "context" $ "service" SERVICE "instance" ENTRY (name, organisation) "port" PORT); JSON.
*/}}
{{- define "medledger-common.serviceEndpoint" -}}
{{- $msp := printf "/var/run/medledger/genesis/orgs/%s/msp" .instance.organisation -}}
{{- toJson (dict
      "address" (printf "%s.%s.svc:%d" (include "medledger-common.serviceName" (dict "context" .context "service" .service "name" .instance.name)) .context.Release.Namespace (int .port))
      "tls_ca_files" (list (printf "%s/tlsintermediatecerts/ca.pem" $msp) (printf "%s/tlscacerts/root.pem" $msp))) -}}
{{- end -}}

{{/*
A service's Deployment, Service, account and Secrets' prefix: <release>-<service>-<peer>. Call with (dict "context" $
"service" SERVICE "name" PEER).
*/}}
{{- define "medledger-common.serviceName" -}}
{{- printf "%s-%s-%s" .context.Release.Name (.service | replace "_" "-") .name -}}
{{- end -}}
