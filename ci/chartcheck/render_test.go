package chartcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = "../../charts/barrage"
	releaseName = "barrage"
	namespace   = "barrage"
)

// environments are the files in charts/barrage/environments, plus the bare defaults.
var environments = []string{"defaults", "dev", "staging", "prod", "ask"}

// valueFiles returns the -f files of an environment.
func valueFiles(env string) []string {
	if env == "defaults" {
		return nil
	}
	return []string{filepath.Join(chartDir, "environments", env+".yaml")}
}

// mergeValues layers value files and --set style overrides the way the helm CLI does. A
// file's "# ci-set: key=value" lines come first, as ci/chart-check and ci/kube-check add them.
func mergeValues(files, set []string) (map[string]any, error) {
	var ciSet []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "# ci-set: "); ok {
				ciSet = append(ciSet, strings.TrimSpace(v))
			}
		}
	}
	opts := values.Options{ValueFiles: files, Values: append(ciSet, set...)}
	return opts.MergeValues(getter.Providers{})
}

// doc is one rendered manifest with its kind, for assertions.
type doc struct {
	source     string
	apiVersion string
	kind       string
	name       string
	raw        []byte
}

// render runs what `helm template` runs (schema check included) and returns the manifests
// and test hooks in a stable order.
func render(files, set []string) ([]doc, error) {
	rel, err := dryRunInstall(files, set)
	if err != nil {
		return nil, err
	}
	all := []string{rel.Manifest}
	for _, h := range rel.Hooks {
		all = append(all, fmt.Sprintf("---\n# Source: %s\n%s", h.Path, h.Manifest))
	}
	return splitDocs(strings.Join(all, "\n"))
}

// dryRunInstall is `helm install --dry-run` without a cluster.
func dryRunInstall(files, set []string) (*release.Release, error) {
	vals, err := mergeValues(files, set)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return installValues(vals)
}

// renderValues renders merged values, for values set with their Go types.
func renderValues(vals map[string]any) ([]doc, error) {
	rel, err := installValues(vals)
	if err != nil {
		return nil, err
	}
	return splitDocs(rel.Manifest)
}

func installValues(vals map[string]any) (*release.Release, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	return DryRun(ch, releaseName, namespace, vals)
}

func splitDocs(manifest string) ([]doc, error) {
	split := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(split))
	for k := range split {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var docs []doc
	for _, k := range keys {
		raw := []byte(split[k])
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", k, err)
		}
		if head.Kind == "" {
			continue // a template that rendered nothing but comments
		}
		source := ""
		if line, _, ok := strings.Cut(strings.TrimPrefix(split[k], "---\n"), "\n"); ok && strings.HasPrefix(line, "# Source: ") {
			source = strings.TrimPrefix(line, "# Source: ")
		}
		docs = append(docs, doc{source: source, apiVersion: head.APIVersion, kind: head.Kind, name: head.Metadata.Name, raw: raw})
	}
	return docs, nil
}

// mustRender renders or fails the test.
func mustRender(t *testing.T, files, set []string) []doc {
	t.Helper()
	docs, err := render(files, set)
	if err != nil {
		t.Fatalf("render %v %v: %v", files, set, err)
	}
	return docs
}

func TestLintStrict(t *testing.T) {
	for _, env := range append(environments, "bundled kafka") {
		t.Run(env, func(t *testing.T) {
			dir, files := chartDir, valueFiles(env)
			if env == "bundled kafka" {
				dir, files = filepath.Join(chartDir, "charts", "kafka"), nil
			}
			vals, err := mergeValues(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			lint.KubeVersion = KubeVersion
			res := lint.Run([]string{dir}, vals)
			for _, m := range res.Messages {
				t.Logf("lint: %s", m)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("helm lint --strict: %v", res.Errors)
			}
			if res.TotalChartsLinted != 1 {
				t.Fatalf("linted %d charts, want 1", res.TotalChartsLinted)
			}
		})
	}
}
