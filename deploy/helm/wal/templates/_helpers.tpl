{{/* Chart name, truncated to a DNS label. */}}
{{- define "wal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefix of every resource. */}}
{{- define "wal.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "wal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "wal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* StatefulSet name of a shard: at most 52 characters, so the controller-revision-hash label fits in 63. */}}
{{- define "wal.shardName" -}}
{{- printf "%s-%s" (include "wal.fullname" .root) .shard.name | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "wal.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "wal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the chart creates for inline credentials (only those without an existingSecret). */}}
{{- define "wal.credentialsSecret" -}}
{{- printf "%s-credentials" (include "wal.fullname" .) }}
{{- end }}

{{- define "wal.topologiesConfigMap" -}}
{{- if .Values.topologies.existingConfigMap }}
{{- .Values.topologies.existingConfigMap }}
{{- else }}
{{- printf "%s-topologies" (include "wal.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Environment of every wal container: plain values, then credentials from Secrets (an existingSecret
when given, else the Secret the chart creates from an inline value). A credential value itself is
never written into a pod spec.
*/}}
{{- define "wal.env" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .Values.kafka.sasl }}
{{- if .existingSecret }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef: { name: {{ .existingSecret | quote }}, key: {{ .existingSecretKey | quote }} }
{{- else if .password }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef: { name: {{ include "wal.credentialsSecret" $ | quote }}, key: kafka-password }
{{- end }}
{{- end }}
{{- with .Values.registry.auth }}
{{- if .existingSecret }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef: { name: {{ .existingSecret | quote }}, key: {{ .existingSecretKey | quote }} }
{{- else if .password }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef: { name: {{ include "wal.credentialsSecret" $ | quote }}, key: registry-password }
{{- end }}
{{- end }}
{{- range .Values.extraSecretEnv }}
- name: {{ required "extraSecretEnv[].name is required" .name }}
  valueFrom:
    secretKeyRef: { name: {{ required "extraSecretEnv[].secretName is required" .secretName | quote }}, key: {{ required "extraSecretEnv[].key is required" .key | quote }} }
{{- end }}
{{- end }}

{{/* Volumes every wal pod mounts: topologies, /tmp (the root filesystem is read-only), Kafka TLS files. */}}
{{- define "wal.commonVolumes" -}}
- name: topologies
  configMap:
    name: {{ include "wal.topologiesConfigMap" . }}
- name: tmp
  emptyDir: {}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
{{- end }}
{{- end }}

{{- define "wal.commonVolumeMounts" -}}
- name: topologies
  mountPath: {{ .Values.topologies.mountPath }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: {{ .Values.kafka.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Checks that hold for the whole release; fail with a sentence naming the value. */}}
{{- define "wal.validate" -}}
{{- if and (not .Values.topologies.existingConfigMap) (not .Values.topologies.files) }}
{{- fail "topologies: set topologies.files (file name → YAML) or topologies.existingConfigMap: wal start and wal api need topology files (with registry.enabled, clusters only will do)" }}
{{- end }}
{{- if le (int .Values.processor.terminationGracePeriodSeconds) (int .Values.processor.shutdownTimeoutSeconds) }}
{{- fail (printf "processor.terminationGracePeriodSeconds (%v) must exceed processor.shutdownTimeoutSeconds (%v): Kubernetes would kill wal before its graceful shutdown (drain, commit, leave the group) can finish" .Values.processor.terminationGracePeriodSeconds .Values.processor.shutdownTimeoutSeconds) }}
{{- end }}
{{- if and .Values.api.enabled (not .Values.api.insecure) (not .Values.api.apiKeys.existingSecret) (not .Values.api.apiKeys.keysFile) }}
{{- fail "api: wal api listens on the pod's address, which it refuses without API keys: set api.apiKeys.existingSecret (or api.apiKeys.keysFile), or api.insecure: true for a local cluster" }}
{{- end }}
{{- $names := dict }}
{{- range .Values.shards }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" (toString .name)) }}
{{- fail (printf "shards: name %q is not a DNS label (lower-case letters, digits and -)" (toString .name)) }}
{{- end }}
{{- if hasKey $names .name }}
{{- fail (printf "shards: name %q appears twice" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- include "wal.validateShards" . }}
{{- end }}

{{/*
What `wal start --shard` would refuse or find empty, caught at render time from topologies.files (not
from an existingConfigMap, which the chart cannot read): a shard's `namespaces` filter naming one the
files do not define in that shard, a files-only shard (registry disabled) that no namespace of the
files belongs to (wal would exit at start, the pods crash-looping), and a registry cluster alias the
files do not define. Skipped when a file is not one YAML mapping or a value is left to `${ENV}`.
*/}}
{{- define "wal.validateShards" -}}
{{- if and (not .Values.topologies.existingConfigMap) .Values.topologies.files }}
{{- $readable := true }}
{{- $shardOf := dict }}
{{- $clusters := dict }}
{{- range $file, $text := .Values.topologies.files }}
{{- $doc := fromYaml (toString $text) }}
{{- if hasKey $doc "Error" }}
{{- $readable = false }}
{{- else }}
{{- range $alias, $_ := (default dict $doc.clusters) }}
{{- $_ := set $clusters $alias true }}
{{- end }}
{{- range (default list $doc.namespaces) }}
{{- if not (kindIs "map" .) }}
{{- $readable = false }}
{{- else }}
{{- $shard := toString (default "default" .shard) }}
{{- if contains "${" $shard }}{{ $readable = false }}{{ end }}
{{- $_ := set $shardOf (toString .name) $shard }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $readable }}
{{- $r := .Values.registry }}
{{- range $shard := .Values.shards }}
{{- range $shard.namespaces }}
{{- if not (hasKey $shardOf .) }}
{{- fail (printf "shards: %q lists namespace %q, which topologies.files do not define (defined: %s)" $shard.name . (join ", " (keys $shardOf | sortAlpha))) }}
{{- end }}
{{- if ne (get $shardOf .) $shard.name }}
{{- fail (printf "shards: %q lists namespace %q, whose shard in topologies.files is %q: wal start --shard %s would not run it (give it `shard: %s`)" $shard.name . (get $shardOf .) $shard.name $shard.name) }}
{{- end }}
{{- end }}
{{- if not $r.enabled }}
{{- $found := false }}
{{- range $name, $s := $shardOf }}{{ if eq $s $shard.name }}{{ $found = true }}{{ end }}{{ end }}
{{- if not $found }}
{{- fail (printf "shards: no namespace of topologies.files is in shard %q, so `wal start --shard %s` would have nothing to run: give its namespaces `shard: %s` (a namespace without one is in shard \"default\"), or set registry.enabled to run the registry's" $shard.name $shard.name $shard.name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if $r.enabled }}
{{- if $r.cluster }}
{{- if not (hasKey $clusters $r.cluster) }}
{{- fail (printf "registry.cluster %q is not a cluster of topologies.files (defined: %s)" $r.cluster (join ", " (keys $clusters | sortAlpha))) }}
{{- end }}
{{- else if and (ne (len $clusters) 1) (not (hasKey $.Values.env "WAL_REGISTRY_CLUSTER")) }}
{{- fail (printf "registry.cluster: topologies.files define %d clusters (%s): name the one holding the registry" (len $clusters) (join ", " (keys $clusters | sortAlpha))) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
