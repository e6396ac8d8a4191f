{{/* Names and labels shared by the chart's templates. */}}

{{- define "achilles-agent.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's name when it already says achilles-agent, else RELEASE-achilles-agent. */}}
{{- define "achilles-agent.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "achilles-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "achilles-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "achilles-agent.labels" -}}
{{ include "achilles-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The Secret that holds the token: the user's, or the one the chart makes from token.value. */}}
{{- define "achilles-agent.tokenSecret" -}}
{{- if and .Values.token.existingSecret .Values.token.value -}}
{{- fail "token: set token.existingSecret (a Secret you made) or token.value (the chart makes the Secret), not both" -}}
{{- else if .Values.token.existingSecret -}}
{{- .Values.token.existingSecret -}}
{{- else if .Values.token.value -}}
{{- printf "%s-token" (include "achilles-agent.fullname" .) -}}
{{- else -}}
{{- fail "token: the agent needs a bearer token: set token.existingSecret to a Secret holding it (kubectl create secret generic achilles-agent-token --from-literal=token=\"$(openssl rand -hex 32)\") or token.value (16 bytes or more)" -}}
{{- end -}}
{{- end -}}
