{{/* Every helper carries the chart's prefix so a subchart cannot shadow it. */}}

{{- define "barrage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "barrage.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "barrage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* barrage.labels takes (dict "root" $ "component" "homepage"). */}}
{{- define "barrage.labels" -}}
helm.sh/chart: {{ include "barrage.chart" .root }}
{{ include "barrage.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: barrage
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "barrage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "barrage.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* barrage.serviceName takes (dict "root" $ "role" "processor"): the Knative Service's name. */}}
{{- define "barrage.serviceName" -}}
{{- $v := index .root.Values .role -}}
{{- default (printf "%s-%s" (include "barrage.fullname" .root) .role) $v.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "barrage.kafkaSourceName" -}}
{{- default (include "barrage.fullname" .) .Values.eventDriver.kafkaSource.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* barrage.image takes (dict "root" $ "image" .Values.x.image): repository@digest or repository:tag. */}}
{{- define "barrage.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "barrage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "barrage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The processor's address inside the cluster, where the dispatcher posts. */}}
{{- define "barrage.processorURL" -}}
{{- printf "http://%s.%s.svc.cluster.local" (include "barrage.serviceName" (dict "root" . "role" "processor")) .Release.Namespace -}}
{{- end -}}

{{/* "true" when the chart deploys its own dead-letter sink: a KafkaSource with no user-given deadLetterSink. */}}
{{- define "barrage.deadLetterSinkEnabled" -}}
{{- $dl := .Values.eventDriver.kafkaSource.deadLetterSink -}}
{{- if and (eq .Values.eventDriver.type "kafkaSource") (not $dl.uri) (not $dl.ref) -}}true{{- end -}}
{{- end -}}

{{- define "barrage.deadLetterSinkName" -}}
{{- printf "%s-deadletter" (include "barrage.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The audience of the processor's OIDC tokens, as the KafkaSource asks the issuer for it. */}}
{{- define "barrage.processorAudience" -}}
{{- default (printf "serving.knative.dev/service/%s/%s" .Release.Namespace (include "barrage.serviceName" (dict "root" . "role" "processor"))) .Values.eventDriver.oidc.audience -}}
{{- end -}}

{{/* The audience of the chart's dead-letter sink: a plain Service announces none, so the chart names it by its address. */}}
{{- define "barrage.deadLetterAudience" -}}
{{- default (printf "http://%s.%s.svc.cluster.local" (include "barrage.deadLetterSinkName" .) .Release.Namespace) .Values.eventDriver.kafkaSource.deadLetterSink.audience -}}
{{- end -}}

{{- define "barrage.bootstrapServers" -}}
{{- if .Values.kafka.bootstrapServers -}}
{{- .Values.kafka.bootstrapServers -}}
{{- else if .Values.localKafka.enabled -}}
{{- printf "%s-kafka.%s.svc:%d" .Release.Name .Release.Namespace (int (default 9092 .Values.localKafka.port)) -}}
{{- else -}}
{{- fail "kafka.bootstrapServers: set the Kafka brokers, or localKafka.enabled=true for the bundled single-node Kafka" -}}
{{- end -}}
{{- end -}}

{{- define "barrage.secretName" -}}
{{- default (printf "%s-credentials" (include "barrage.fullname" .)) .Values.credentials.existingSecret -}}
{{- end -}}

{{/* "true" when the chart must create the credentials Secret from values. */}}
{{- define "barrage.createSecret" -}}
{{- $c := .Values.credentials -}}
{{- if and (not $c.existingSecret) (or $c.otsKeyId $c.otsSecret $c.kafkaUser $c.kafkaPassword .Values.homepage.loadSender.enabled) -}}true{{- end -}}
{{- end -}}

{{/* barrage.onOff resolves an inherit/enabled/disabled switch against a boolean default. */}}
{{- define "barrage.onOff" -}}
{{- if eq .mode "enabled" -}}true{{- else if and (eq .mode "inherit") .inherit -}}true{{- end -}}
{{- end -}}

{{- define "barrage.sourceSasl" -}}
{{- include "barrage.onOff" (dict "mode" .Values.eventDriver.kafkaSource.sasl "inherit" .Values.kafka.sasl.enabled) -}}
{{- end -}}

{{- define "barrage.sourceTls" -}}
{{- include "barrage.onOff" (dict "mode" .Values.eventDriver.kafkaSource.tls "inherit" .Values.kafka.tls.enabled) -}}
{{- end -}}

{{/*
barrage.validate fails the render on combinations the schema cannot express, with a message
that names the value to fix.
*/}}
{{- define "barrage.validate" -}}
{{- $c := .Values.credentials -}}
{{- if and $c.existingSecret (or $c.otsKeyId $c.otsSecret $c.kafkaUser $c.kafkaPassword $c.adminToken) -}}
{{- fail "credentials: existingSecret is set, so leave otsKeyId, otsSecret, kafkaUser, kafkaPassword and adminToken empty (they would be ignored)" -}}
{{- end -}}
{{- if .Values.eventDriver.oidc.enabled -}}
{{- if ne .Values.eventDriver.type "kafkaSource" -}}
{{- fail "eventDriver.oidc.enabled needs eventDriver.type=kafkaSource: the dispatcher sends no token, so the processor would refuse every event" -}}
{{- end -}}
{{- if hasSuffix "/v1alpha1" .Values.eventDriver.kafkaSource.apiVersion -}}
{{- fail "eventDriver.oidc.enabled needs eventDriver.kafkaSource.apiVersion v1beta1 or v1: a v1alpha1 KafkaSource has no sink.audience, so it would send no token" -}}
{{- end -}}
{{- end -}}
{{- if .Values.store.tablestore.endpoint -}}
{{- if not .Values.store.tablestore.instanceName -}}
{{- fail "store.tablestore.instanceName is required with store.tablestore.endpoint" -}}
{{- end -}}
{{- if and (not $c.existingSecret) (not (and $c.otsKeyId $c.otsSecret)) -}}
{{- fail "credentials: Tablestore needs a secret name: set credentials.existingSecret, or credentials.otsKeyId and credentials.otsSecret" -}}
{{- end -}}
{{- end -}}
{{- $sasl := or .Values.kafka.sasl.enabled (and (eq .Values.eventDriver.type "kafkaSource") (include "barrage.sourceSasl" .)) -}}
{{- if and $sasl (not $c.existingSecret) (not (and $c.kafkaUser $c.kafkaPassword)) -}}
{{- fail "credentials: Kafka SASL needs a secret name: set credentials.existingSecret, or credentials.kafkaUser and credentials.kafkaPassword" -}}
{{- end -}}
{{- range $role := list "homepage" "processor" -}}
{{- $v := index $.Values $role -}}
{{- $as := $v.autoscaling -}}
{{- if and (gt (int $as.maxScale) 0) (gt (int $as.minScale) (int $as.maxScale)) -}}
{{- fail (printf "%s.autoscaling.minScale (%d) is above maxScale (%d)" $role (int $as.minScale) (int $as.maxScale)) -}}
{{- end -}}
{{- if and (eq $v.workloadClass "fc") (not $v.fc.roleArn) -}}
{{- fail (printf "%s.fc.roleArn is required when %s.workloadClass is fc" $role $role) -}}
{{- end -}}
{{- end -}}
{{- $forbidden := list "OTS_KEYID" "OTS_SECRET" "KAFKA_USER" "KAFKA_PWD" -}}
{{- range $owner, $envs := dict "homepage" .Values.homepage.extraEnv "processor" .Values.processor.extraEnv "eventDriver.dispatcher" .Values.eventDriver.dispatcher.extraEnv "eventDriver.kafkaSource.deadLetterSink" .Values.eventDriver.kafkaSource.deadLetterSink.extraEnv -}}
{{- range $envs -}}
{{- if has .name $forbidden -}}
{{- fail (printf "%s.extraEnv must not set %s: credentials come from the Secret (see credentials)" $owner .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Env every role reads; takes (dict "root" $ "fieldRef" bool). */}}
{{- define "barrage.env.common" -}}
- name: BARRAGE_LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: BARRAGE_LOG_FORMAT
  value: json
{{- if .fieldRef }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}
{{- with .root.Values.tracing.url }}
- name: TRACING
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "barrage.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "barrage.secretName" .root }}
      key: {{ .key }}
{{- end -}}

{{/* Env of the roles that talk to Kafka. */}}
{{- define "barrage.env.kafka" -}}
- name: KAFKA_SERVER
  value: {{ include "barrage.bootstrapServers" . | quote }}
- name: KAFKA_TOPIC
  value: {{ .Values.kafka.topic | quote }}
- name: BARRAGE_NOTICE_TOPIC
  value: {{ .Values.kafka.noticeTopic | quote }}
- name: BARRAGE_KAFKA_TLS
  value: {{ .Values.kafka.tls.enabled | quote }}
{{- if .Values.kafka.sasl.enabled }}
- name: BARRAGE_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
{{ include "barrage.secretEnv" (dict "root" . "name" "KAFKA_USER" "key" .Values.credentials.keys.kafkaUser) }}
{{ include "barrage.secretEnv" (dict "root" . "name" "KAFKA_PWD" "key" .Values.credentials.keys.kafkaPassword) }}
{{- end }}
{{- end -}}

{{/* Env of the roles that read or write the store. */}}
{{- define "barrage.env.store" -}}
{{- $t := .Values.store.tablestore -}}
- name: BARRAGE_RETENTION
  value: {{ .Values.store.retention | quote }}
{{- if $t.endpoint }}
- name: OTS_ENDPOINT
  value: {{ $t.endpoint | quote }}
- name: OTS_INSTANCENAME
  value: {{ $t.instanceName | quote }}
- name: TABLE_NAME
  value: {{ $t.table | quote }}
{{ include "barrage.secretEnv" (dict "root" . "name" "OTS_KEYID" "key" .Values.credentials.keys.otsKeyId) }}
{{ include "barrage.secretEnv" (dict "root" . "name" "OTS_SECRET" "key" .Values.credentials.keys.otsSecret) }}
{{- else }}
- name: BARRAGE_DATA_DIR
  value: /var/lib/barrage
{{- end }}
{{- end -}}

{{/* The restricted Pod Security Standard, container part. */}}
{{- define "barrage.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}
