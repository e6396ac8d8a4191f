// What `helm lint` would check of the chart, and what ties it to the project: Chart.yaml is a v2
// chart named as its directory with a strict SemVer version (Masterminds/semver, the library
// Helm parses versions and kubeVersion with), its appVersion is the project's version (the
// top-level CMakeLists.txt) and daemonset.yaml's image tag, and every object it renders, for
// every values set, has an apiVersion, a kind, a DNS-1123 name of at most 63 characters in the
// release's namespace, and label values Kubernetes accepts.
package helmcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Masterminds/semver"
	"sigs.k8s.io/yaml"
)

func TestTheChartIsWhatHelmLintExpects(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart Chart
	if err := yaml.UnmarshalStrict(raw, &chart); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	if chart.APIVersion != "v2" || chart.Name != filepath.Base(chartDir) || chart.Type != "application" {
		t.Errorf("Chart.yaml: apiVersion %q, name %q (directory %q), type %q", chart.APIVersion, chart.Name, filepath.Base(chartDir), chart.Type)
	}
	if _, err := semver.StrictNewVersion(chart.Version); err != nil {
		t.Errorf("Chart.yaml version %q: %v", chart.Version, err)
	}
	if c, err := semver.NewConstraint(chart.KubeVersion); err != nil {
		t.Errorf("Chart.yaml kubeVersion %q: %v", chart.KubeVersion, err)
	} else if !c.Check(semver.MustParse("1.28.0")) {
		t.Errorf("Chart.yaml kubeVersion %q excludes Kubernetes 1.28", chart.KubeVersion)
	}
	cmake, err := os.ReadFile("../../../CMakeLists.txt")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`project\(achilles VERSION ([0-9.]+)`).FindSubmatch(cmake)
	if m == nil || chart.AppVersion != string(m[1]) {
		t.Errorf("Chart.yaml appVersion %q, the project's version %q", chart.AppVersion, m)
	}
	ds, err := os.ReadFile(daemonsetYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ds), "achilles-agent:"+chart.AppVersion+"\n") {
		t.Errorf("daemonset.yaml's image is not tagged %s", chart.AppVersion)
	}

	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	label := regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	sets := map[string]string{"daemonset.yaml's values": asDaemonset}
	for k, v := range valueSets {
		sets[k] = v
	}
	for name, values := range sets {
		docs, _, err := render(chartDir, values)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for kind, d := range docs {
			n, _ := at(d, "metadata", "name").(string)
			if at(d, "apiVersion") == nil || len(n) > 63 || !dns.MatchString(n) ||
				at(d, "metadata", "namespace") != defaultRelease.Namespace {
				t.Errorf("%s: %s has apiVersion %v, name %q, namespace %v", name, kind, at(d, "apiVersion"), n, at(d, "metadata", "namespace"))
			}
			labels, _ := at(d, "metadata", "labels").(obj)
			for k, v := range labels {
				s, ok := v.(string)
				if !ok || len(s) > 63 || !label.MatchString(s) {
					t.Errorf("%s: %s's label %s has the value %v, which Kubernetes refuses", name, kind, k, v)
				}
			}
		}
	}
}
