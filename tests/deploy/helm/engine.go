// Package helmcheck renders a Helm chart the way `helm template` does, for the tests of
// injector/deploy/helm/achilles-agent (chart_test.go).
//
// Why this and not a hand-written renderer: there is no helm binary on the project's machines
// and nothing can be downloaded, but Debian 12 packages everything Helm 3's rendering is made
// of: Go's text/template (golang-go), the sprig v3 function library (golang-github-masterminds-
// sprig-dev), sigs.k8s.io/yaml (golang-k8s-sigs-yaml-dev), which Helm uses to read values and
// for toYaml/fromYaml, and gojsonschema (golang-github-xeipuuv-gojsonschema-dev), which Helm 3
// (through 3.15 at least) uses to check values.schema.json: the schema keeps to draft 7. This file wires them together as Helm's
// pkg/engine and pkg/chartutil do: sprig's function map without env/expandenv, plus Helm's own
// include, tpl, required, fail, toYaml, fromYaml, toJson, fromJson and lookup (empty, as under
// `helm template`); missingkey=zero with "<no value>" removed; values read as Helm reads them
// (numbers become float64, so `{{ .Values.n }}` of 1000000 prints 1e+06 here as in Helm),
// coalesced over the chart's values.yaml (maps merged, null deletes a default), then validated
// against values.schema.json as JSON. Templates and partials (_*.tpl) are parsed into one
// template set, so include and define behave as in Helm. What it leaves out (subcharts, .Files,
// --set parsing, hooks, kind ordering of the output) the chart does not use.
package helmcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// Chart is the part of Chart.yaml that templates see as .Chart (Helm's chart.Metadata).
type Chart struct {
	APIVersion  string   `json:"apiVersion"`
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	AppVersion  string   `json:"appVersion"`
	Description string   `json:"description"`
	Type        string   `json:"type"`
	KubeVersion string   `json:"kubeVersion"`
	Keywords    []string `json:"keywords"`
	Home        string   `json:"home"`
}

// Release is .Release.
type Release struct {
	Name, Namespace, Service string
	IsInstall, IsUpgrade     bool
	Revision                 int
}

// Rendered is one template's output, by its name ("CHART/templates/FILE").
type Rendered struct {
	Name, Text string
}

// ReadValues reads a values file as Helm's chartutil.ReadValues does.
func ReadValues(data []byte) (map[string]interface{}, error) {
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	return vals, nil
}

// coalesce merges user values over the chart's defaults as chartutil.CoalesceValues does:
// maps merge key by key, a user's null deletes the default, anything else replaces it.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range defaults {
		out[k] = v
	}
	for k, uv := range user {
		if uv == nil {
			delete(out, k)
			continue
		}
		um, uIsMap := uv.(map[string]interface{})
		dm, dIsMap := out[k].(map[string]interface{})
		if uIsMap && dIsMap {
			out[k] = coalesce(um, dm)
		} else {
			out[k] = uv
		}
	}
	return out
}

// validate checks values against values.schema.json as chartutil.ValidateAgainstSingleSchema.
func validate(values map[string]interface{}, schema []byte) error {
	y, err := yaml.Marshal(values)
	if err != nil {
		return err
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return err
	}
	if bytes.Equal(j, []byte("null")) {
		j = []byte("{}")
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(j))
	if err != nil {
		return err
	}
	if result.Valid() {
		return nil
	}
	var sb strings.Builder
	for _, e := range result.Errors() {
		sb.WriteString("- " + e.String() + "\n")
	}
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", sb.String())
}

func funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	included := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if included[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		included[name]++
		defer func() { included[name]-- }()
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	f["tpl"] = func(text string, vals interface{}) (string, error) {
		c, err := t.Clone()
		if err != nil {
			return "", err
		}
		c, err = c.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf strings.Builder
		if err := c.Execute(&buf, vals); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(warn string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, fmt.Errorf("%s", warn)
		}
		if s, ok := val.(string); ok && s == "" {
			return val, fmt.Errorf("%s", warn)
		}
		return val, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) }
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

// Render renders the chart in dir with the user's values files (later ones win) for release,
// as `helm template` would (with notes: NOTES.txt too, as `helm install` shows it). It returns
// the outputs of the templates that are not partials, sorted by name, empty ones left out.
func Render(dir string, release Release, valueFiles [][]byte, notes bool) ([]Rendered, error) {
	var chart Chart
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	raw, err = os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	values, err := ReadValues(raw)
	if err != nil {
		return nil, fmt.Errorf("values.yaml: %v", err)
	}
	for i, vf := range valueFiles {
		user, err := ReadValues(vf)
		if err != nil {
			return nil, fmt.Errorf("values file %d: %v", i+1, err)
		}
		values = coalesce(user, values)
	}
	if schema, err := os.ReadFile(filepath.Join(dir, "values.schema.json")); err == nil {
		if err := validate(values, schema); err != nil {
			return nil, err
		}
	}
	if release.Service == "" {
		release.Service = "Helm"
	}
	if release.Revision == 0 {
		release.Revision, release.IsInstall = 1, true
	}

	base := chart.Name + "/templates"
	files, err := filepath.Glob(filepath.Join(dir, "templates", "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	t := template.New("gotpl").Option("missingkey=zero")
	t.Funcs(funcMap(t))
	var names []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := base + "/" + filepath.Base(f)
		if _, err := t.New(name).Parse(string(text)); err != nil {
			return nil, fmt.Errorf("parse error in %q: %v", name, err)
		}
		b := filepath.Base(f)
		if strings.HasPrefix(b, "_") || (b == "NOTES.txt" && !notes) {
			continue
		}
		names = append(names, name)
	}

	top := map[string]interface{}{
		"Values":  values,
		"Release": release,
		"Chart":   chart,
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.28.0", "Major": "1", "Minor": "28"},
		},
	}
	var out []Rendered
	for _, name := range names {
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": base}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, name, vals); err != nil {
			return nil, fmt.Errorf("render error in %q: %v", name, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		out = append(out, Rendered{name, text})
	}
	return out, nil
}

// Manifest joins outputs as `helm template` prints them.
func Manifest(rs []Rendered) string {
	var sb strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&sb, "---\n# Source: %s\n%s\n", r.Name, strings.TrimSpace(r.Text))
	}
	return sb.String()
}
