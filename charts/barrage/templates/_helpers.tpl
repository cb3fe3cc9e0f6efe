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

{{/*
barrage.labels takes (dict "root" $ "component" "homepage"). commonLabels are merged in,
and on a clash the chart's own label wins: selectors and `helm upgrade` depend on them.
*/}}
{{- define "barrage.labels" -}}
{{- $own := include "barrage.selectorLabels" . | fromYaml -}}
{{- $_ := set $own "helm.sh/chart" (include "barrage.chart" .root) -}}
{{- $_ := set $own "app.kubernetes.io/version" (toString .root.Chart.AppVersion) -}}
{{- $_ := set $own "app.kubernetes.io/managed-by" .root.Release.Service -}}
{{- $_ := set $own "app.kubernetes.io/part-of" "barrage" -}}
{{- toYaml (merge $own (deepCopy (default dict .root.Values.commonLabels))) -}}
{{- end -}}

{{/*
barrage.podLabels takes (dict "root" $ "component" "homepage" "extra" .podLabels): the
selector labels, which the user's labels never override, merged with the user's.
*/}}
{{- define "barrage.podLabels" -}}
{{- $own := include "barrage.selectorLabels" . | fromYaml -}}
{{- toYaml (merge $own (deepCopy (default dict .extra))) -}}
{{- end -}}

{{/*
barrage.podAnnotations takes (dict "own" <the chart's annotations> "extra" .podAnnotations)
and renders their merge with each key once; the chart's own win, since each has a value of
its own (autoscaling.*, fc.*, eci.*, metrics.scrapeAnnotations).
*/}}
{{- define "barrage.podAnnotations" -}}
{{- $all := merge (deepCopy .own) (deepCopy (default dict .extra)) -}}
{{- with $all }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
barrage.int renders a whole number as digits: YAML numbers arrive as float64, which prints
1000000 as 1e+06. Anything else renders as given, so the API server still refuses it when the
schema is skipped, rather than a silent 0.
*/}}
{{- define "barrage.int" -}}
{{- if and (or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .)) (eq (float64 .) (float64 (int64 .))) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* barrage.number renders a number as the app parses it: whole ones as digits, others as decimals. */}}
{{- define "barrage.number" -}}
{{- if eq (float64 .) (float64 (int64 .)) -}}{{ int64 . }}{{- else -}}{{ float64 . }}{{- end -}}
{{- end -}}

{{/*
barrage.durationSeconds turns a duration as the app reads it (Go's time.ParseDuration forms
such as 1h30m or 1.5h, or plain seconds) into seconds, for the floors the schema's pattern
cannot express.
*/}}
{{- define "barrage.durationSeconds" -}}
{{- $s := trimPrefix "+" . -}}
{{- if regexMatch "^[0-9]+$" $s -}}
{{- float64 $s -}}
{{- else -}}
{{- $units := dict "ns" 1e-9 "us" 1e-6 "\u00b5s" 1e-6 "\u03bcs" 1e-6 "ms" 1e-3 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9.]+[^0-9.]+" $s -1 -}}
{{- $num := regexFind "^[0-9.]+" . -}}
{{- $unit := trimPrefix $num . -}}
{{- $total = addf $total (mulf (float64 $num) (get $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
{{- end -}}

{{/* barrage.durationAtLeast fails unless (dict "value" v "path" p "min" seconds "minText" "1h") holds. */}}
{{- define "barrage.durationAtLeast" -}}
{{- $sec := include "barrage.durationSeconds" .value | float64 -}}
{{- if lt $sec (float64 .min) -}}
{{- fail (printf "%s must be at least %s, not %q" .path .minText .value) -}}
{{- end -}}
{{- /* Go durations end at 2562047h47m16.854775807s. */ -}}
{{- if gt $sec 9223372036.854775 -}}
{{- fail (printf "%s must be at most 2562047h, not %q" .path .value) -}}
{{- end -}}
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

{{/* "true" when the chart deploys its own dead-letter sink: a v1beta1 or v1 KafkaSource with no user-given deadLetterSink. */}}
{{- define "barrage.deadLetterSinkEnabled" -}}
{{- $dl := .Values.eventDriver.kafkaSource.deadLetterSink -}}
{{- if and (eq .Values.eventDriver.type "kafkaSource") (not (include "barrage.sourceAlpha" .)) (not $dl.uri) (not $dl.ref) -}}true{{- end -}}
{{- end -}}

{{/* "true" for the seed's v1alpha1 KafkaSource, which has no delivery, ordering, initialOffset or SASL type. */}}
{{- define "barrage.sourceAlpha" -}}
{{- if and (eq .Values.eventDriver.type "kafkaSource") (hasSuffix "/v1alpha1" .Values.eventDriver.kafkaSource.apiVersion) -}}true{{- end -}}
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

{{/*
barrage.secretData is the data of the Secret the chart makes, as JSON. It is worked out once
per render and kept on the root, so the Secret and the checksums of the pods that read it
agree on the operator token drawn at random.
*/}}
{{- define "barrage.secretData" -}}
{{- if not (hasKey $ "barrageSecretData") -}}
{{- $c := .Values.credentials -}}
{{- /* What an earlier install generated is kept: an upgrade must not rotate it. */ -}}
{{- $old := get (default dict (lookup "v1" "Secret" .Release.Namespace (include "barrage.secretName" .))) "data" | default dict -}}
{{- /* A random salt the pods' checksum covers, so the hash in a pod spec cannot be used to guess a weak credential. */ -}}
{{- $d := dict "checksum-salt" (default (randAlphaNum 32) (get $old "checksum-salt" | b64dec) | b64enc) -}}
{{- if $c.otsKeyId }}{{ $_ := set $d $c.keys.otsKeyId ($c.otsKeyId | b64enc) }}{{ end -}}
{{- if $c.otsSecret }}{{ $_ := set $d $c.keys.otsSecret ($c.otsSecret | b64enc) }}{{ end -}}
{{- if $c.kafkaUser }}
{{- $_ := set $d $c.keys.kafkaUser ($c.kafkaUser | b64enc) -}}
{{- $_ := set $d $c.keys.kafkaSaslMechanism (.Values.kafka.sasl.mechanism | b64enc) -}}
{{- end -}}
{{- if $c.kafkaPassword }}{{ $_ := set $d $c.keys.kafkaPassword ($c.kafkaPassword | b64enc) }}{{ end -}}
{{- if .Values.homepage.loadSender.enabled -}}
{{- $token := $c.adminToken -}}
{{- if not $token -}}
{{- $token = default (randAlphaNum 48) (get $old $c.keys.adminToken | b64dec) -}}
{{- end -}}
{{- $_ := set $d $c.keys.adminToken ($token | b64enc) -}}
{{- end -}}
{{- $_ := set $ "barrageSecretData" $d -}}
{{- end -}}
{{- toJson (get $ "barrageSecretData") -}}
{{- end -}}

{{/*
barrage.secretChecksum takes (dict "root" $ "env" <a pod's env YAML>): the sha256 of the
chart-made Secret's data when that env reads it, so the pod rolls when the Secret changes;
empty for an existingSecret, whose changes the chart never sees.
*/}}
{{- define "barrage.secretChecksum" -}}
{{- if include "barrage.createSecret" .root -}}
{{- if regexMatch (printf "secretKeyRef:\\s+name: %s\\s" (include "barrage.secretName" .root)) .env -}}
{{- include "barrage.secretData" .root | sha256sum -}}
{{- end -}}
{{- end -}}
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
{{- if include "barrage.sourceAlpha" . -}}
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
{{- $k := .Values.kafka -}}
{{- if has $k.noticeTopic (list $k.topic .Values.eventDriver.dispatcher.deadLetterTopic .Values.eventDriver.kafkaSource.deadLetterSink.topic) -}}
{{- fail (printf "kafka.noticeTopic %q must differ from kafka.topic and the dead-letter topics: notices are not barrages" $k.noticeTopic) -}}
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
{{- if include "barrage.sourceAlpha" . -}}
{{- $dl := .Values.eventDriver.kafkaSource.deadLetterSink -}}
{{- if or $dl.uri $dl.ref -}}
{{- fail "eventDriver.kafkaSource.deadLetterSink: a v1alpha1 KafkaSource has no delivery, so no dead-letter sink; leave it empty, or use apiVersion sources.knative.dev/v1beta1" -}}
{{- end -}}
{{- if and (include "barrage.sourceSasl" .) (ne .Values.kafka.sasl.mechanism "PLAIN") -}}
{{- fail (printf "kafka.sasl.mechanism %s: a v1alpha1 KafkaSource speaks SASL PLAIN only; use apiVersion sources.knative.dev/v1beta1" .Values.kafka.sasl.mechanism) -}}
{{- end -}}
{{- end -}}
{{- include "barrage.durationAtLeast" (dict "path" "store.retention" "value" .Values.store.retention "min" 3600 "minText" "1h") -}}
{{- include "barrage.durationAtLeast" (dict "path" "homepage.limits.readTimeout" "value" .Values.homepage.limits.readTimeout "min" 0.1 "minText" "100ms") -}}
{{- include "barrage.durationAtLeast" (dict "path" "homepage.loadSender.maxDuration" "value" .Values.homepage.loadSender.maxDuration "min" 1e-9 "minText" "1ns") -}}
{{- range $role := list "homepage" "processor" -}}
{{- $v := index $.Values $role -}}
{{- if and (eq $v.workloadClass "fc") (not (regexMatch "^((registry|registry-vpc|registry-intl|registry-intl-vpc)\\.[a-z0-9-]+\\.aliyuncs\\.com|[a-z0-9-]+-registry(-vpc)?\\.[a-z0-9-]+\\.cr\\.aliyuncs\\.com)/" $v.image.repository)) -}}
{{- fail (printf "%s.image.repository %q: Function Compute pulls only from Alibaba Container Registry (ACR); push the image there and set %s.image.repository to it, such as registry.cn-hangzhou.aliyuncs.com/<namespace>/barrage (docs/deploy.md)" $role $v.image.repository $role) -}}
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
{{- with .root.Values.metrics.port }}
- name: BARRAGE_METRICS_PORT
  value: {{ include "barrage.int" . | quote }}
{{- end }}
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
{{- with .root.Values.tracing.secret.name }}
- name: TRACING
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.root.Values.tracing.secret.key }}
{{- end }}
{{- end -}}

{{/* The port a scraper finds /metrics on: metrics.port, or the role's own port
(a string) when that is 0. */}}
{{- define "barrage.metricsPort" -}}
{{- with .root.Values.metrics.port }}{{ include "barrage.int" . }}{{ else }}{{ .port }}{{ end -}}
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
{{- if include "barrage.kafkaCA" . }}
- name: BARRAGE_KAFKA_CA_FILE
  value: /etc/barrage/kafka-ca/ca.crt
{{- end }}
{{- if .Values.kafka.sasl.enabled }}
- name: BARRAGE_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
{{ include "barrage.secretEnv" (dict "root" . "name" "KAFKA_USER" "key" .Values.credentials.keys.kafkaUser) }}
{{ include "barrage.secretEnv" (dict "root" . "name" "KAFKA_PWD" "key" .Values.credentials.keys.kafkaPassword) }}
{{- end }}
{{- end -}}

{{/*
"true" when the Go roles that talk to Kafka trust kafka.tls.caSecret: only with TLS on, since
they refuse a CA file without it (the KafkaSource decides for itself, see kafkasource.yaml).
*/}}
{{- define "barrage.kafkaCA" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret.name -}}true{{- end -}}
{{- end -}}

{{/* The CA Secret's key, mounted read-only as the file BARRAGE_KAFKA_CA_FILE names. */}}
{{- define "barrage.kafkaCAMount" -}}
- name: kafka-ca
  mountPath: /etc/barrage/kafka-ca
  readOnly: true
{{- end -}}

{{- define "barrage.kafkaCAVolume" -}}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret.name }}
    items:
      - key: {{ .Values.kafka.tls.caSecret.key }}
        path: ca.crt
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
