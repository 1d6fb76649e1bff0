{{/*
configtx.yaml, for configtxgen in the genesis Job: as roles/fabric_orderer's template writes it on the VMs (the
policies and ACLs are the same, tests/charts holds them to it), with the cluster's names for the orderers and
brokers and each organisation's verifying MSP where the Job writes it. Kafka ordering.
*/}}
{{- define "orderer.configtx" -}}
{{- $orderer := fromJson (include "medledger-common.organisationOfKind" (dict "context" $ "kind" "orderer")) -}}
configtx.yaml: |
  Organizations:
  {{- range .Values.global.organisations }}
    - &{{ .name }}
      Name: {{ .mspId }}
      ID: {{ .mspId }}
      MSPDir: {{ include "orderer.verifyingMsp" .name }}
      Policies:
      {{- if eq .kind "orderer" }}
        Readers: {Type: Signature, Rule: "OR('{{ .mspId }}.admin', '{{ .mspId }}.orderer')"}
        Writers: {Type: Signature, Rule: "OR('{{ .mspId }}.member')"}
        Admins: {Type: Signature, Rule: "OR('{{ .mspId }}.admin')"}
      OrdererEndpoints:
        {{- include "orderer.endpoints" $ | trim | nindent 8 }}
      {{- else }}
        Readers: {Type: Signature, Rule: "OR('{{ .mspId }}.admin', '{{ .mspId }}.peer')"}
        Writers: {Type: Signature, Rule: "OR('{{ .mspId }}.admin', '{{ .mspId }}.client')"}
        Admins: {Type: Signature, Rule: "OR('{{ .mspId }}.admin')"}
        Endorsement: {Type: Signature, Rule: "OR('{{ .mspId }}.peer')"}
      {{- end }}
  {{- end }}

  Capabilities:
    Channel: &ChannelCapabilities
      V2_0: true
    Orderer: &OrdererCapabilities
      V2_0: true

  Orderer: &OrdererDefaults
    OrdererType: kafka
    BatchTimeout: {{ .Values.batch.timeout }}
    BatchSize:
      MaxMessageCount: {{ int .Values.batch.maxMessageCount }}
      AbsoluteMaxBytes: {{ int .Values.batch.absoluteMaxBytes }}
      PreferredMaxBytes: {{ int .Values.batch.preferredMaxBytes }}
    Kafka:
      Brokers:
        {{- include "orderer.kafkaBrokers" . | trim | nindent 8 }}
    Organizations:
      - *{{ $orderer.name }}
    Policies:
      Readers: {Type: ImplicitMeta, Rule: ANY Readers}
      Writers: {Type: ImplicitMeta, Rule: ANY Writers}
      Admins: {Type: ImplicitMeta, Rule: MAJORITY Admins}
      BlockValidation: {Type: ImplicitMeta, Rule: ANY Writers}
    Capabilities: *OrdererCapabilities

  # Application channels: see roles/fabric_orderer's configtx.yaml for why each ACL is what it is.
  Application: &ApplicationDefaults
    Organizations:
    ACLs:
      _lifecycle/CheckCommitReadiness: /Channel/Application/Readers
      _lifecycle/CommitChaincodeDefinition: /Channel/Application/Readers
      _lifecycle/QueryChaincodeDefinition: /Channel/Application/Readers
      _lifecycle/QueryChaincodeDefinitions: /Channel/Application/Readers
      lscc/ChaincodeExists: /Channel/Application/Readers
      lscc/GetDeploymentSpec: /Channel/Application/Readers
      lscc/GetChaincodeData: /Channel/Application/Readers
      lscc/GetInstantiatedChaincodes: /Channel/Application/Readers
      lscc/GetCollectionsConfig: /Channel/Application/Readers
      qscc/GetChainInfo: /Channel/Application/Readers
      qscc/GetBlockByNumber: /Channel/Application/Readers
      qscc/GetBlockByHash: /Channel/Application/Readers
      qscc/GetTransactionByID: /Channel/Application/Readers
      qscc/GetBlockByTxID: /Channel/Application/Readers
      cscc/GetConfigBlock: /Channel/Application/Readers
      cscc/GetChannelConfig: /Channel/Application/Readers
      event/Block: /Channel/Application/Readers
      event/FilteredBlock: /Channel/Application/Readers
      gateway/ChaincodeEvents: /Channel/Application/Readers
      peer/Propose: /Channel/Application/Writers
      peer/ChaincodeToChaincode: /Channel/Application/Writers
      gateway/CommitStatus: /Channel/Application/Writers
    Policies:
      Readers: {Type: ImplicitMeta, Rule: ANY Readers}
      Writers: {Type: ImplicitMeta, Rule: ANY Writers}
      Admins: {Type: ImplicitMeta, Rule: MAJORITY Admins}
      LifecycleEndorsement: {Type: ImplicitMeta, Rule: MAJORITY Endorsement}
      Endorsement: {Type: ImplicitMeta, Rule: MAJORITY Endorsement}
    Capabilities:
      V2_5: true

  Channel: &ChannelDefaults
    Policies:
      Readers: {Type: ImplicitMeta, Rule: ANY Readers}
      Writers: {Type: ImplicitMeta, Rule: ANY Writers}
      Admins: {Type: ImplicitMeta, Rule: MAJORITY Admins}
    Capabilities: *ChannelCapabilities

  Profiles:
    # The ordering service's system channel: the orderer organisation, and a consortium of the organisations
    # that may create application channels.
    SystemChannel:
      <<: *ChannelDefaults
      Orderer:
        <<: *OrdererDefaults
      Consortiums:
        MedLedger:
          Organizations:
          {{- range .Values.global.organisations }}
          {{- if ne .kind "orderer" }}
            - *{{ .name }}
          {{- end }}
          {{- end }}
    {{- range .Values.global.channels }}
    # Application channel {{ .name }}: {{ join ", " .organisations }}.
    {{ .name }}:
      <<: *ChannelDefaults
      Consortium: MedLedger
      Application:
        <<: *ApplicationDefaults
        Organizations:
        {{- range .organisations }}
          - *{{ . }}
        {{- end }}
    {{- end }}
{{- end -}}
