{{/* The broker's name; the parent chart derives the same name for its bootstrap servers. */}}
{{- define "kafka.fullname" -}}
{{- printf "%s-kafka" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kafka.labels" -}}
app.kubernetes.io/name: kafka
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kafka.selectorLabels" -}}
app.kubernetes.io/name: kafka
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
kafka.heapMiB is half the container's memory limit in MiB: the JVM's heap must leave room for
its own off-heap memory and the page cache inside the limit, or the kernel kills the broker.
*/}}
{{- define "kafka.heapMiB" -}}
{{- $limit := toString (required "resources.limits.memory is required: the broker's heap is half of it" (dig "limits" "memory" "" .Values.resources)) -}}
{{- $units := dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "" 1.0 -}}
{{- $num := regexFind "^[0-9.]+" $limit -}}
{{- $unit := trimPrefix $num $limit -}}
{{- if or (not $num) (not (hasKey $units $unit)) -}}
{{- fail (printf "resources.limits.memory %q: give it as a number of bytes or with Ki, Mi, Gi, Ti, k, M, G or T" $limit) -}}
{{- end -}}
{{- $mib := divf (mulf (float64 $num) (get $units $unit)) 2097152.0 | floor | int64 -}}
{{- if lt $mib 128 -}}
{{- fail (printf "resources.limits.memory %q leaves the broker less than 128Mi of heap; give it at least 256Mi" $limit) -}}
{{- end -}}
{{- $mib -}}
{{- end -}}
