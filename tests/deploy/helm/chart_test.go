// Tests of the Helm chart injector/deploy/helm/achilles-agent, rendered by engine.go (Helm's own
// building blocks from Debian's packages; why, see there). Registered in ctest by
// tests/deploy/CMakeLists.txt, one ctest test per Go test; run by hand with
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go test ./tests/deploy/helm
//
// The rendered YAML is read with sigs.k8s.io/yaml, as kubectl reads it (YAML 1.1: 0400 is octal).
package helmcheck

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const chartDir = "../../../injector/deploy/helm/achilles-agent"
const daemonsetYAML = "../../../injector/deploy/daemonset.yaml"

type obj = map[string]interface{}

var defaultRelease = Release{Name: "achilles-agent", Namespace: "achilles"}

// The values that make the chart render daemonset.yaml: its token Secret's name and its example
// allowlist (the chart's is empty).
const asDaemonset = "token: {existingSecret: achilles-agent-token}\nconfig: {allow: {processes: [redis-server, web-*]}}\n"

// parseDocs splits a manifest into its YAML documents and reads each strictly (a duplicated
// key is an error), keyed by kind.
func parseDocs(manifest string) (map[string]obj, error) {
	docs := map[string]obj{}
	for i, part := range strings.Split("\n"+manifest, "\n---") {
		if strings.TrimSpace(stripComments(part)) == "" {
			continue
		}
		var d obj
		if err := yaml.UnmarshalStrict([]byte(part), &d); err != nil {
			return nil, fmt.Errorf("document %d is not YAML: %v\n%s", i, err, part)
		}
		kind, _ := d["kind"].(string)
		if kind == "" {
			return nil, fmt.Errorf("document %d has no kind:\n%s", i, part)
		}
		if _, dup := docs[kind]; dup {
			return nil, fmt.Errorf("two documents of kind %s", kind)
		}
		docs[kind] = d
	}
	return docs, nil
}

func stripComments(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// at walks a path of map keys and list indices.
func at(v interface{}, path ...interface{}) interface{} {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]interface{})
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func byName(list interface{}, name string) obj {
	l, _ := list.([]interface{})
	for _, e := range l {
		if m, ok := e.(obj); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

func subset(small, big interface{}) bool {
	s, _ := small.(obj)
	b, _ := big.(obj)
	if s == nil || b == nil {
		return false
	}
	for k, v := range s {
		if !reflect.DeepEqual(b[k], v) {
			return false
		}
	}
	return true
}

// render renders the chart in dir with the values given as YAML texts, and reads the result.
func render(dir string, values ...string) (map[string]obj, string, error) {
	var files [][]byte
	for _, v := range values {
		files = append(files, []byte(v))
	}
	rs, err := Render(dir, defaultRelease, files, false)
	if err != nil {
		return nil, "", err
	}
	m := Manifest(rs)
	docs, err := parseDocs(m)
	return docs, m, err
}

// The securityContext, probes and host access every rendering must have: daemonset.yaml's.
func referenceContainer(t *testing.T) obj {
	raw, err := os.ReadFile(daemonsetYAML)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := parseDocs(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return at(ref["DaemonSet"], "spec", "template", "spec", "containers", 0).(obj)
}

// checkShape checks what every rendering must hold, whatever the values: the DaemonSet's
// safety (hostPID, no service account token, daemonset.yaml's securityContext and TCP probes on
// the API port), the token mounted with mode 0400 where the configuration's token_file points,
// the configuration's listen port on the container's port, and a state directory on the host.
// vals are the user's values (for the token's key and value).
func checkShape(docs map[string]obj, ref obj, vals obj) error {
	ds := docs["DaemonSet"]
	cm := docs["ConfigMap"]
	if ds == nil || cm == nil {
		return fmt.Errorf("no DaemonSet or no ConfigMap in the output")
	}
	if at(ds, "apiVersion") != "apps/v1" {
		return fmt.Errorf("DaemonSet apiVersion %v", at(ds, "apiVersion"))
	}
	if !subset(at(ds, "spec", "selector", "matchLabels"), at(ds, "spec", "template", "metadata", "labels")) {
		return fmt.Errorf("the selector does not match the pods' labels")
	}
	pod := at(ds, "spec", "template", "spec")
	if at(pod, "hostPID") != true || at(pod, "automountServiceAccountToken") != false {
		return fmt.Errorf("hostPID %v, automountServiceAccountToken %v", at(pod, "hostPID"), at(pod, "automountServiceAccountToken"))
	}
	c := byName(at(pod, "containers"), "agent")
	if c == nil {
		return fmt.Errorf("no container named agent")
	}
	known := map[string]bool{"name": true, "image": true, "imagePullPolicy": true, "args": true, "ports": true,
		"securityContext": true, "resources": true, "readinessProbe": true, "livenessProbe": true, "volumeMounts": true}
	for k := range c {
		if !known[k] {
			return fmt.Errorf("the container has a key %q that is not one of its fields", k)
		}
	}
	for _, k := range []string{"securityContext", "readinessProbe", "livenessProbe", "args"} {
		if !reflect.DeepEqual(c[k], ref[k]) {
			return fmt.Errorf("container %s is %v, daemonset.yaml has %v", k, c[k], ref[k])
		}
	}
	port := byName(at(c, "ports"), "api")
	if port == nil {
		return fmt.Errorf("no port named api")
	}
	token := byName(at(pod, "volumes"), "token")
	if token == nil || at(token, "secret", "defaultMode") != float64(0o400) {
		return fmt.Errorf("the token volume is %v, not a Secret with defaultMode 0400", token)
	}
	secretName, _ := at(token, "secret", "secretName").(string)
	if secretName == "" {
		return fmt.Errorf("the token volume names no Secret")
	}
	mount := byName(at(c, "volumeMounts"), "token")
	if mount == nil || mount["readOnly"] != true {
		return fmt.Errorf("the token volume is not mounted read-only: %v", mount)
	}
	if byName(at(pod, "volumes"), "tls") == nil || at(byName(at(pod, "volumes"), "tls"), "secret", "defaultMode") != float64(0o400) {
		return fmt.Errorf("the TLS volume is not a Secret with defaultMode 0400")
	}
	state := byName(at(pod, "volumes"), "state")
	if at(state, "hostPath", "path") == nil {
		return fmt.Errorf("the state volume is not a hostPath: %v", state)
	}

	confText, _ := at(cm, "data", "agent.yaml").(string)
	var conf obj
	if err := yaml.UnmarshalStrict([]byte(confText), &conf); err != nil {
		return fmt.Errorf("agent.yaml of the ConfigMap: %v\n%s", err, confText)
	}
	if conf["insecure_loopback"] != nil {
		return fmt.Errorf("agent.yaml sets insecure_loopback")
	}
	tokenFile, _ := conf["token_file"].(string)
	if filepath.Dir(tokenFile) != mount["mountPath"] {
		return fmt.Errorf("token_file %q is not in the token mount %v", tokenFile, mount["mountPath"])
	}
	key := filepath.Base(tokenFile)
	if want, _ := at(vals, "token", "key").(string); key != want && (want != "" || key != "token") {
		return fmt.Errorf("token_file %q does not name the key %q of the token Secret", tokenFile, want)
	}
	if s := docs["Secret"]; s != nil {
		if at(s, "metadata", "name") != secretName {
			return fmt.Errorf("the chart's Secret is %v, the volume names %s", at(s, "metadata", "name"), secretName)
		}
		enc, _ := at(s, "data", key).(string)
		dec, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || string(dec) != at(vals, "token", "value") {
			return fmt.Errorf("the Secret's %s is %q, not token.value decoded from base64 (%v)", key, enc, err)
		}
	}
	listen, _ := conf["listen"].(string)
	if want := fmt.Sprintf("0.0.0.0:%v", port["containerPort"]); listen != want {
		return fmt.Errorf("agent.yaml listens on %q, the container's port is %v", listen, port["containerPort"])
	}
	if at(conf, "tls", "cert") == nil || at(conf, "tls", "key") == nil || at(conf, "tls", "client_ca") == nil {
		return fmt.Errorf("agent.yaml has no tls with cert, key and client_ca: %v", conf["tls"])
	}
	if filepath.Dir(conf["state_file"].(string)) != at(byName(at(c, "volumeMounts"), "state"), "mountPath") {
		return fmt.Errorf("state_file %v is not on the state volume", conf["state_file"])
	}
	if np := docs["NetworkPolicy"]; np != nil {
		if !reflect.DeepEqual(at(np, "spec", "ingress", 0, "ports", 0, "port"), port["containerPort"]) {
			return fmt.Errorf("the NetworkPolicy admits port %v, the agent listens on %v", at(np, "spec", "ingress", 0, "ports", 0, "port"), port["containerPort"])
		}
		if !subset(at(np, "spec", "podSelector", "matchLabels"), at(ds, "spec", "template", "metadata", "labels")) {
			return fmt.Errorf("the NetworkPolicy selects other pods")
		}
	}
	return nil
}

// checkChart renders the chart in dir with values and checks the result's shape.
func checkChart(t *testing.T, dir string, values ...string) (map[string]obj, error) {
	docs, _, err := render(dir, values...)
	if err != nil {
		return nil, err
	}
	vals := obj{}
	for _, v := range values {
		user, err := ReadValues([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		vals = coalesce(user, vals)
	}
	return docs, checkShape(docs, referenceContainer(t), vals)
}

func TestTheDefaultsRenderWhatDaemonsetYamlSays(t *testing.T) {
	docs, manifest, err := render(chartDir, asDaemonset)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(daemonsetYAML)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := parseDocs(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	var kinds, refKinds []string
	for k := range docs {
		kinds = append(kinds, k)
	}
	for k := range ref {
		refKinds = append(refKinds, k)
	}
	if len(kinds) != len(refKinds) {
		t.Fatalf("kinds %v, daemonset.yaml has %v\n%s", kinds, refKinds, manifest)
	}
	for kind, r := range ref {
		d := docs[kind]
		if d == nil {
			t.Fatalf("no %s in the output", kind)
		}
		for _, k := range []string{"name", "namespace"} {
			if at(d, "metadata", k) != at(r, "metadata", k) {
				t.Errorf("%s metadata.%s is %v, daemonset.yaml has %v", kind, k, at(d, "metadata", k), at(r, "metadata", k))
			}
		}
		if r["metadata"].(obj)["labels"] != nil && !subset(at(r, "metadata", "labels"), at(d, "metadata", "labels")) {
			t.Errorf("%s labels %v lack daemonset.yaml's %v", kind, at(d, "metadata", "labels"), at(r, "metadata", "labels"))
		}
	}
	// The DaemonSet: the pod spec exactly, the selector and pod labels a superset (the chart adds
	// the release's instance label), the update strategy.
	d, r := docs["DaemonSet"], ref["DaemonSet"]
	if got, want := at(d, "spec", "template", "spec"), at(r, "spec", "template", "spec"); !reflect.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("the pod spec differs from daemonset.yaml's:\nchart:\n%s\ndaemonset.yaml:\n%s", g, w)
	}
	if !reflect.DeepEqual(at(d, "spec", "updateStrategy"), at(r, "spec", "updateStrategy")) {
		t.Errorf("updateStrategy %v, daemonset.yaml has %v", at(d, "spec", "updateStrategy"), at(r, "spec", "updateStrategy"))
	}
	for _, p := range [][]interface{}{{"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		if !subset(at(r, p...), at(d, p...)) {
			t.Errorf("%v is %v, without daemonset.yaml's %v", p, at(d, p...), at(r, p...))
		}
	}
	// The ConfigMap: the same agent configuration, read as YAML.
	var got, want obj
	if err := yaml.UnmarshalStrict([]byte(at(docs["ConfigMap"], "data", "agent.yaml").(string)), &got); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(at(ref["ConfigMap"], "data", "agent.yaml").(string)), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("agent.yaml is\n%v\ndaemonset.yaml's is\n%v", got, want)
	}
	// The NetworkPolicy: the same ingress, and pod selection a superset.
	if !reflect.DeepEqual(at(docs["NetworkPolicy"], "spec", "ingress"), at(ref["NetworkPolicy"], "spec", "ingress")) ||
		!reflect.DeepEqual(at(docs["NetworkPolicy"], "spec", "policyTypes"), at(ref["NetworkPolicy"], "spec", "policyTypes")) {
		t.Errorf("the NetworkPolicy differs from daemonset.yaml's:\n%v\n%v", docs["NetworkPolicy"]["spec"], ref["NetworkPolicy"]["spec"])
	}
	vals, _ := ReadValues([]byte(asDaemonset))
	if err := checkShape(docs, referenceContainer(t), vals); err != nil {
		t.Error(err)
	}
}

// Value sets a user would write; each must render a DaemonSet of the same shape.
var valueSets = map[string]string{
	"the token given inline": `
token: {value: 0123456789abcdef0123456789abcdef}
`,
	"an existing Secret with another key, another port and node placement": `
token: {existingSecret: fleet-token, key: agent-token}
tls: {existingSecret: fleet-tls}
port: 9474
nodeSelector: {achilles.io/drills: "yes"}
tolerations: [{operator: Exists}]
priorityClassName: system-node-critical
imagePullSecrets: [{name: regcred}]
image: {repository: registry.internal/achilles-agent, tag: 0.1.0-3, pullPolicy: Always}
`,
	"a fuller configuration with a proxy and a big memory cap": `
token: {existingSecret: t}
config:
  audit_log: /var/lib/achilles/audit.jsonl
  audit_max_bytes: 10000000
  max_duration_ms: 600000
  max_memory_bytes: 1073741824
  allow:
    processes: [postgres]
    executables: [/usr/lib/postgresql/15/bin/postgres]
    users: [root, 0]
  proxies: [{name: pg, listen: "127.0.0.1:15432", upstream: "127.0.0.1:5432"}]
`,
	"metrics with a Service and a ServiceMonitor, the network policy admitting Prometheus": `
token: {existingSecret: t}
metrics:
  service: {enabled: true}
  serviceMonitor: {enabled: true, clientCertSecret: prometheus-client, serverName: achilles-agent, labels: {release: kube-prometheus}}
networkPolicy:
  extraFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
`,
	"no network policy, and no configuration beyond what the chart sets": `
token: {existingSecret: t}
networkPolicy: {enabled: false}
config: null
`,
}

func TestEveryValueSetRendersADaemonSetOfTheSameShape(t *testing.T) {
	for name, values := range valueSets {
		docs, err := checkChart(t, chartDir, values)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		pod := at(docs["DaemonSet"], "spec", "template", "spec")
		switch {
		case strings.HasPrefix(name, "the token given inline"):
			if at(docs["Secret"], "metadata", "name") != "achilles-agent-token" {
				t.Errorf("%s: Secret %v", name, docs["Secret"])
			}
		case strings.HasPrefix(name, "an existing Secret"):
			var conf obj
			_ = yaml.Unmarshal([]byte(at(docs["ConfigMap"], "data", "agent.yaml").(string)), &conf)
			if conf["token_file"] != "/etc/achilles/token/agent-token" || conf["listen"] != "0.0.0.0:9474" {
				t.Errorf("%s: agent.yaml %v", name, conf)
			}
			if docs["Secret"] != nil || at(byName(at(pod, "volumes"), "token"), "secret", "secretName") != "fleet-token" ||
				at(byName(at(pod, "volumes"), "tls"), "secret", "secretName") != "fleet-tls" {
				t.Errorf("%s: volumes %v", name, at(pod, "volumes"))
			}
			if at(pod, "nodeSelector", "achilles.io/drills") != "yes" || at(pod, "tolerations", 0, "operator") != "Exists" ||
				at(pod, "priorityClassName") != "system-node-critical" || at(pod, "imagePullSecrets", 0, "name") != "regcred" ||
				at(pod, "containers", 0, "image") != "registry.internal/achilles-agent:0.1.0-3" ||
				at(pod, "containers", 0, "imagePullPolicy") != "Always" {
				t.Errorf("%s: pod spec %v", name, pod)
			}
		case strings.HasPrefix(name, "a fuller configuration"):
			var conf obj
			_ = yaml.Unmarshal([]byte(at(docs["ConfigMap"], "data", "agent.yaml").(string)), &conf)
			if conf["max_memory_bytes"] != float64(1073741824) || conf["audit_max_bytes"] != float64(10000000) ||
				at(conf, "proxies", 0, "upstream") != "127.0.0.1:5432" || at(conf, "allow", "users", 1) != float64(0) {
				t.Errorf("%s: agent.yaml %v", name, conf)
			}
			if text := at(docs["ConfigMap"], "data", "agent.yaml").(string); strings.Contains(text, "e+") {
				t.Errorf("%s: a number in exponent form, which the agent refuses:\n%s", name, text)
			}
		case strings.HasPrefix(name, "metrics"):
			sm := docs["ServiceMonitor"]
			ep := at(sm, "spec", "endpoints", 0)
			if at(docs["Service"], "spec", "clusterIP") != "None" || at(ep, "bearerTokenSecret", "name") != "t" ||
				at(ep, "bearerTokenSecret", "key") != "token" || at(ep, "scheme") != "https" || at(ep, "path") != "/metrics" ||
				at(ep, "tlsConfig", "keySecret", "name") != "prometheus-client" || at(sm, "metadata", "labels", "release") != "kube-prometheus" ||
				!subset(at(sm, "spec", "selector", "matchLabels"), at(docs["Service"], "spec", "selector")) {
				t.Errorf("%s: Service %v ServiceMonitor %v", name, docs["Service"], sm)
			}
			if at(docs["NetworkPolicy"], "spec", "ingress", 0, "from", 1, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "monitoring" {
				t.Errorf("%s: NetworkPolicy %v", name, docs["NetworkPolicy"])
			}
		case strings.HasPrefix(name, "no network policy"):
			if docs["NetworkPolicy"] != nil {
				t.Errorf("%s: a NetworkPolicy", name)
			}
		}
	}
}

func TestAChangedConfigurationOrTokenRollsThePods(t *testing.T) {
	sum := func(values string) (string, string) {
		docs, _, err := render(chartDir, values)
		if err != nil {
			t.Fatal(err)
		}
		a := at(docs["DaemonSet"], "spec", "template", "metadata", "annotations")
		return fmt.Sprint(at(a, "checksum/config")), fmt.Sprint(at(a, "checksum/token"))
	}
	c1, t1 := sum("token: {value: 0123456789abcdef0123456789abcdef}")
	c2, t2 := sum("token: {value: 0123456789abcdef0123456789abcdef}\nconfig: {max_duration_ms: 60000}")
	c3, t3 := sum("token: {value: fedcba9876543210fedcba9876543210}")
	if len(c1) != 64 || c1 == c2 || c1 != c3 || t1 != t2 || t1 == t3 {
		t.Errorf("checksums config %s %s %s, token %s %s %s", c1, c2, c3, t1, t2, t3)
	}
}

func TestValuesTheSchemaRefuses(t *testing.T) {
	cases := map[string]string{
		"token: {value: 0123456789abcde}":                                            "token.value: Must validate at least one schema (anyOf)",
		"token: {existingSecret: t}\nconfig: {listen: 0.0.0.0:1}":                    "config: Property name of \"listen\" does not match",
		"token: {existingSecret: t}\nport: 70000":                                    "port: Must be less than or equal to 65535",
		"token: {existingSecret: t}\nport: \"8474\"":                                 "port: Invalid type. Expected: integer, given: string",
		"token: {existingSecret: t}\ntsl: {existingSecret: x}":                       "(root): Additional property tsl is not allowed",
		"token: {existingSecret: t}\nconfig: {allow: {executables: [redis-server]}}": "config.allow.executables.0: Does not match pattern '^/'",
		"token: {existingSecret: t}\nconfig: {max_duration_ms: 1.5}":                 "config.max_duration_ms: Invalid type. Expected: integer, given: number",
		"token: {existingSecret: t}\ntls: {existingSecret: \"\"}":                    "tls.existingSecret: String length must be greater than or equal to 1",
	}
	for values, want := range cases {
		_, _, err := render(chartDir, values)
		if err == nil {
			t.Errorf("%q: rendered", values)
		} else if !strings.HasPrefix(err.Error(), "values don't meet the specifications of the schema(s)") || !strings.Contains(err.Error(), "- "+want) {
			t.Errorf("%q: %v\nwanted: %s", values, err, want)
		}
	}
}

func TestTheChartRefusesATokenlessOrAmbiguousRelease(t *testing.T) {
	cases := map[string]string{
		"": "token: the agent needs a bearer token: set token.existingSecret to a Secret holding it (kubectl create secret generic achilles-agent-token --from-literal=token=\"$(openssl rand -hex 32)\") or token.value (16 bytes or more)",
		"token: {existingSecret: t, value: 0123456789abcdef}":                                              "token: set token.existingSecret (a Secret you made) or token.value (the chart makes the Secret), not both",
		"token: {existingSecret: t}\nmetrics: {serviceMonitor: {enabled: true}}":                           "metrics.serviceMonitor.enabled needs metrics.service.enabled: the ServiceMonitor selects the agents through that Service",
		"token: {existingSecret: t}\nmetrics: {service: {enabled: true}, serviceMonitor: {enabled: true}}": "metrics.serviceMonitor.clientCertSecret: the agent admits only clients with a certificate its client CA signed; name a Secret with tls.crt, tls.key and ca.crt for Prometheus",
	}
	for values, want := range cases {
		_, _, err := render(chartDir, values)
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%q: %v\nwanted the message: %s", values, err, want)
		}
	}
}

func TestTheNotesNameTheTokenSecretAndTheAllowlist(t *testing.T) {
	rs, err := Render(chartDir, defaultRelease, [][]byte{[]byte(asDaemonset)}, true)
	if err != nil || !strings.Contains(Manifest(rs), "It may signal processes named: redis-server, web-*; executables: (none).") {
		t.Errorf("%v\n%s", err, Manifest(rs))
	}
	rs, err = Render(chartDir, defaultRelease, [][]byte{[]byte("token: {existingSecret: t}")}, true)
	if err != nil || !strings.Contains(Manifest(rs), "It may signal no process: config.allow names none") {
		t.Errorf("%v\n%s", err, Manifest(rs))
	}
	rs, err = Render(chartDir, defaultRelease, [][]byte{[]byte("token: {value: 0123456789abcdef0123456789abcdef}\nconfig: {allow: {executables: [/usr/bin/redis-server]}}")}, true)
	if err != nil {
		t.Fatal(err)
	}
	var notes string
	for _, r := range rs {
		if strings.HasSuffix(r.Name, "/NOTES.txt") {
			notes = r.Text
		}
	}
	for _, want := range []string{
		"as the DaemonSet achilles/achilles-agent.",
		"kubectl -n achilles get secret achilles-agent-token -o jsonpath='{.data.token}' | base64 -d",
		"It may signal processes named: (none); executables: /usr/bin/redis-server.\nSee docs/agent.md",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("the notes lack %q:\n%s", want, notes)
		}
	}
}

// A broken chart must fail these checks: each mutation of a template below is a mistake one
// makes, and checkChart must report it.
func TestABrokenTemplateFailsTheChecks(t *testing.T) {
	mutations := []struct{ file, from, to, why string }{
		{"daemonset.yaml", "{{- end }}\n      containers:", "\n      containers:", "an unclosed with"},
		{"daemonset.yaml", "nindent 12", "nindent 10", "resources at the wrong depth"},
		{"daemonset.yaml", "defaultMode: 0400}\n        - name: tls", "defaultMode: 0440}\n        - name: tls", "a token its group may read"},
		{"daemonset.yaml", "hostPID: true", "hostPID: false", "no host processes"},
		{"daemonset.yaml", "containerPort: {{ .Values.port }}", "containerPort: 8474", "a port that ignores the values"},
		{"configmap.yaml", "token/{{ .Values.token.key }}", "token/token", "a token file that ignores the key"},
		{"configmap.yaml", "toYaml . | nindent 4", "toYaml . | indent 4", "a configuration glued to state_file"},
		{"secret.yaml", "b64enc", "trim", "a Secret that is not base64"},
		{"_helpers.tpl", "app.kubernetes.io/instance: {{ .Release.Name }}", "app.kubernetes.io/instance: {{ .Release.Nme }}", "a misspelt field"},
	}
	for _, m := range mutations {
		dir := t.TempDir()
		copyChart(t, chartDir, dir)
		p := filepath.Join(dir, "templates", m.file)
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), m.from) {
			t.Fatalf("%s: %s has no %q", m.why, m.file, m.from)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(text), m.from, m.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		failed := false
		for _, values := range []string{asDaemonset, valueSets["the token given inline"], valueSets["an existing Secret with another key, another port and node placement"]} {
			if _, err := checkChart(t, dir, values); err != nil {
				failed = true
			}
		}
		if !failed {
			t.Errorf("%s (%s): the broken chart passed the checks", m.why, m.file)
		}
	}
}

func copyChart(t *testing.T, from, to string) {
	err := filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
