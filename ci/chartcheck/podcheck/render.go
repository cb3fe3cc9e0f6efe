package main

import (
	"fmt"
	"sort"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/barrage-live/barrage/ci/chartcheck"
)

// mergedValues layers value files and --set values the way the helm CLI does.
func mergedValues(files, set []string) (map[string]any, error) {
	opts := values.Options{ValueFiles: files, Values: set}
	return opts.MergeValues(getter.Providers{})
}

// render runs what `helm install --dry-run` runs, schema included, and returns the pod
// templates of the release's workloads. A workload kind it does not know is an error, so
// that a new one is never left out silently.
func render(ch *chart.Chart, release, namespace string, vals map[string]any) ([]workload, error) {
	rel, err := chartcheck.DryRun(ch, release, namespace, vals)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var out []workload
	for path, m := range releaseutil.SplitManifests(rel.Manifest) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(m), &head); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch {
		case head.APIVersion == "serving.knative.dev/v1" && head.Kind == "Service":
			// A revision template's spec is a pod spec plus Knative's own fields.
			var svc struct {
				Spec struct {
					Template struct {
						Spec corev1.PodSpec `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal([]byte(m), &svc); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, workload{kind: "ksvc", name: head.Metadata.Name, spec: svc.Spec.Template.Spec})
		case head.Kind == "Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(m), &d); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, workload{kind: "deployment", name: d.Name, spec: d.Spec.Template.Spec})
		case head.Kind == "StatefulSet" || head.Kind == "DaemonSet" || head.Kind == "Job" || head.Kind == "Pod" || head.Kind == "ReplicaSet":
			return nil, fmt.Errorf("%s: %s %s is not run by this check", path, head.Kind, head.Metadata.Name)
		}
	}
	// Knative Services first: the dispatcher posts to the processor.
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind == "ksvc"
		}
		return out[i].name > out[j].name // processor before homepage
	})
	return out, nil
}

// effectiveValues are the chart's defaults with vals over them, as templates see them.
func effectiveValues(ch *chart.Chart, vals map[string]any) (map[string]any, error) {
	return chartutil.CoalesceValues(ch, vals)
}

// lookup reads a value by path, or def when it is not set.
func lookup[T any](vals map[string]any, def T, path ...string) T {
	var cur any = vals
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return def
		}
		cur = m[p]
	}
	if v, ok := cur.(T); ok {
		return v
	}
	return def
}
