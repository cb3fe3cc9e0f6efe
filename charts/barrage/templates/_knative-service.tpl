{{/*
barrage.knativeService renders one role as a Knative Service. It takes
(dict "root" $ "role" "homepage" "env" <role env YAML> "kafka" <talks to Kafka> "checksum"
<checksum/secret or "">). The workload class only adds annotations: fc on the Service and the
revision, eci on the revision's pods.
*/}}
{{- define "barrage.knativeService" -}}
{{- $root := .root -}}
{{- $v := index $root.Values .role -}}
{{- $as := $v.autoscaling -}}
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {{ include "barrage.serviceName" (dict "root" $root "role" .role) }}
  {{- $labels := include "barrage.labels" (dict "root" $root "component" .role) | fromYaml }}
  {{- if eq (get $v "visibility") "cluster-local" }}
  {{- /* No external route: only callers inside the cluster reach it. */}}
  {{- $_ := set $labels "networking.knative.dev/visibility" "cluster-local" }}
  {{- end }}
  labels:
    {{- toYaml $labels | nindent 4 }}
  {{- $annotations := deepCopy $v.annotations }}
  {{- if eq $v.workloadClass "fc" }}
  {{- $_ := set $annotations "workload.serving.knative.aliyun.com/class" "fc" }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  template:
    metadata:
      labels:
        {{- include "barrage.podLabels" (dict "root" $root "component" .role "extra" $v.podLabels) | nindent 8 }}
      {{- $own := dict "autoscaling.knative.dev/min-scale" (include "barrage.int" $as.minScale) "autoscaling.knative.dev/max-scale" (include "barrage.int" $as.maxScale) }}
      {{- if $as.target }}
      {{- $_ := set $own "autoscaling.knative.dev/target" (include "barrage.int" $as.target) }}
      {{- end }}
      {{- if eq $v.workloadClass "fc" }}
      {{- $_ := set $own "fc.revision.serving.knative.aliyun.com/code-space" $v.fc.codeSpace }}
      {{- $_ := set $own "fc.revision.serving.knative.aliyun.com/role-arm" $v.fc.roleArn }}
      {{- if $v.fc.domain }}
      {{- $_ := set $own "fc.revision.serving.knative.aliyun.com/domain" (dict "domain" $v.fc.domain "path" $v.fc.path | toJson) }}
      {{- end }}
      {{- end }}
      {{- if eq $v.workloadClass "eci" }}
      {{- with $v.eci.imageSnapshotId }}
      {{- $_ := set $own "k8s.aliyun.com/eci-image-snapshot-id" . }}
      {{- end }}
      {{- with $v.eci.useSpecs }}
      {{- $_ := set $own "k8s.aliyun.com/eci-use-specs" . }}
      {{- end }}
      {{- end }}
      {{- if $root.Values.metrics.scrapeAnnotations }}
      {{- $_ := set $own "prometheus.io/scrape" "true" }}
      {{- $_ := set $own "prometheus.io/port" (include "barrage.metricsPort" (dict "root" $root "port" "8080")) }}
      {{- $_ := set $own "prometheus.io/path" "/metrics" }}
      {{- end }}
      {{- with .checksum }}
      {{- $_ := set $own "checksum/secret" . }}
      {{- end }}
      annotations:
        {{- include "barrage.podAnnotations" (dict "own" $own "extra" $v.podAnnotations) | nindent 8 }}
    spec:
      containerConcurrency: {{ include "barrage.int" $v.containerConcurrency }}
      timeoutSeconds: {{ include "barrage.int" $v.timeoutSeconds }}
      {{- with include "barrage.serviceAccountName" $root }}
      serviceAccountName: {{ . }}
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- /* Knative refuses a pod securityContext unless a feature flag allows it; the
      container's own carries the restricted profile. */}}
      containers:
        - name: {{ .role }}
          image: {{ include "barrage.image" (dict "root" $root "image" $v.image) | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args:
            - {{ .role }}
          ports:
            - name: http1
              containerPort: 8080
          env:
            {{- include "barrage.env.common" (dict "root" $root "fieldRef" $root.Values.podFieldRef) | nindent 12 }}
            {{- .env | nindent 12 }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          readinessProbe:
            httpGet:
              path: /readyz
          livenessProbe:
            httpGet:
              path: /healthz
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- include "barrage.containerSecurityContext" $root | nindent 12 }}
          {{- $data := not $root.Values.store.tablestore.endpoint }}
          {{- $ca := and .kafka (include "barrage.kafkaCA" $root) }}
          {{- if or $data $ca }}
          volumeMounts:
            {{- if $data }}
            - name: data
              mountPath: /var/lib/barrage
            {{- end }}
            {{- if $ca }}
            {{- include "barrage.kafkaCAMount" $root | nindent 12 }}
            {{- end }}
      volumes:
        {{- if $data }}
        # The embedded store: per pod, gone with it.
        - name: data
          emptyDir: {}
        {{- end }}
        {{- if $ca }}
        {{- include "barrage.kafkaCAVolume" $root | nindent 8 }}
        {{- end }}
          {{- end }}
{{- end -}}
