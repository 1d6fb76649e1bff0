{{/*
Names are fixed by the release and the server's name (no overrides): medledger-k8s-sign expects the
service account <release>-fabric-ca-<server> and signs the server's TLS certificate for that service's names.
*/}}
{{- define "fabric-ca.name" -}}
{{- include "medledger-common.caServiceName" (dict "context" .context "server" .server.name) -}}
{{- end -}}

{{/* Secrets and signing requests are named <namespace>-<release>-fabric-ca-<server>-<certificate>. */}}
{{- define "fabric-ca.prefix" -}}
{{- printf "%s-%s" .context.Release.Namespace (include "fabric-ca.name" .) -}}
{{- end -}}

{{/*
The CAs a server hosts, as topology.ca_authorities lists them: its TLS CA (the server's default CA, under the
tls root), then the enrolment CA of each of its organisations (under the enrolment root). YAML, for fromYamlArray.
*/}}
{{- define "fabric-ca.authorities" -}}
- {name: {{ printf "tlsca-%s" .server.name }}, dir: tlsca, root: tls, organisation: MedLedger TLS}
{{- range .server.organisations }}
- {name: {{ printf "ca-%s" (lower .) }}, dir: {{ printf "orgs/%s" (lower .) }}, root: enrolment, organisation: {{ . }}}
{{- end }}
{{- end -}}

{{/* The Secret and request names the server's init container uses: one per CA and one for its TLS certificate. */}}
{{- define "fabric-ca.keyNames" -}}
{{- $prefix := include "fabric-ca.prefix" . -}}
{{- range fromYamlArray (include "fabric-ca.authorities" .) }}
- {{ printf "%s-%s" $prefix .name }}
{{- end }}
- {{ printf "%s-%s" $prefix (include "fabric-ca.name" .) }}
{{- end -}}

{{/*
One CA's settings, in its own file (the server's default CA, the TLS CA, has them in the server's file). A CA
file inherits what it omits from the default CA. ${REGISTRAR_SECRET} is filled in by medledger-k8s-ca-init.
*/}}
{{- define "fabric-ca.authority" -}}
ca:
  name: {{ .authority.name }}
  certfile: /var/run/medledger/keys/{{ .authority.dir }}/cert.pem
  keyfile: /var/run/medledger/keys/{{ .authority.dir }}/key.pem
  chainfile: /var/run/medledger/keys/{{ .authority.dir }}/chain.pem
crl:
  expiry: 24h
# No ceiling here: each identity is registered with its own count (one enrolment per pod), and the registrar,
# whose secret only the registration Job reads, enrols afresh with a new key on each run of that Job.
registry:
  maxenrollments: -1
  identities:
    - name: {{ .values.registrarName }}
      pass: ${REGISTRAR_SECRET}
      type: client
      affiliation: ""
      maxenrollments: -1
      attrs:
        hf.Registrar.Roles: "*"
        hf.Registrar.DelegateRoles: "*"
        hf.Registrar.Attributes: "*"
        hf.Revoker: true
        hf.GenCRL: true
        hf.IntermediateCA: false
        hf.AffiliationMgr: true
db:
  type: sqlite3
  datasource: /var/lib/medledger/fabric-ca/{{ .authority.name }}.db
affiliations:
{{- range .server.organisations }}
{{- if has $.authority.organisation (list . "MedLedger TLS") }}
  {{ lower . }}: []
{{- end }}
{{- end }}
signing:
  default:
    usage: [digital signature]
    expiry: {{ .values.issuedValidity }}
  profiles:
    tls:
      usage: [signing, key encipherment, server auth, client auth, key agreement]
      expiry: {{ .values.issuedValidity }}
bccsp:
  default: SW
  sw:
    hash: SHA2
    security: 256
    filekeystore:
      keystore: msp/keystore
{{- end -}}

{{/* The registrations this server's registration Job makes (those of its CAs), as YAML for fromYamlArray. */}}
{{- define "fabric-ca.registrations" -}}
{{- range .context.Values.registrations }}
{{- if eq .server $.server.name }}
- {{ toJson . }}
{{- end }}
{{- end }}
{{- end -}}
