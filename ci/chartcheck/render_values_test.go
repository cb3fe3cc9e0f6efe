package chartcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// valuesFile writes values as a file, so numbers arrive as a values file types them
// (float64), which is where 1e+06 came from.
func valuesFile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNumbersRenderAsDigits: large whole numbers from a values file reach env and
// annotations as digits, which the app's and Knative's integer parsers take.
func TestNumbersRenderAsDigits(t *testing.T) {
	f := valuesFile(t, `
homepage:
  limits:
    viewersPerRoom: 1000000
    maxClients: 10000000
    streamOpensPerSecond: 1000000
  autoscaling:
    maxScale: 1000000
eventDriver:
  type: dispatcher
  dispatcher:
    replicas: 1000000
`)
	r := decode(t, "defaults", mustRender(t, []string{f}, nil))
	hp := r.services["homepage"]
	wantEnv(t, hp, "BARRAGE_MAX_VIEWERS_PER_ROOM", "1000000")
	wantEnv(t, hp, "BARRAGE_MAX_CLIENTS", "10000000")
	wantEnv(t, hp, "BARRAGE_STREAM_OPENS_PER_SECOND", "1000000")
	wantAnnotations(t, "homepage template", hp.Spec.Template.Annotations, map[string]string{
		"autoscaling.knative.dev/max-scale": "1000000",
	})
	if n := *r.deployments[0].Spec.Replicas; n != 1000000 {
		t.Errorf("dispatcher replicas %d", n)
	}
}

// TestHostileFCDomain: quotes, colons and hashes in fc.domain and fc.path cannot break
// the YAML or the annotation's JSON; they come back as given.
func TestHostileFCDomain(t *testing.T) {
	hostile := []struct{ domain, path string }{
		{`barrage.example.com'`, `/*`},
		{`a"b`, `/x': y`},
		{`x: y`, `/# not a comment`},
		{`'; rm -rf /`, "/\u2028\"\\"},
	}
	for _, h := range hostile {
		t.Run(h.domain, func(t *testing.T) {
			f := valuesFile(t, "")
			vals, err := mergeValues([]string{f}, []string{"homepage.workloadClass=fc", "homepage.fc.roleArn=acs:ram::1:role/fc",
				"homepage.image.repository=registry.cn-hangzhou.aliyuncs.com/x/barrage"})
			if err != nil {
				t.Fatal(err)
			}
			setPath(vals, "homepage.fc.domain", h.domain)
			setPath(vals, "homepage.fc.path", h.path)
			docs, err := renderValues(vals)
			if err != nil {
				t.Fatal(err)
			}
			r := decode(t, "defaults", docs)
			raw := r.services["homepage"].Spec.Template.Annotations["fc.revision.serving.knative.aliyun.com/domain"]
			var got struct{ Domain, Path string }
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("domain annotation %q is not JSON: %v", raw, err)
			}
			if got.Domain != h.domain || got.Path != h.path {
				t.Errorf("domain annotation %q, want domain %q path %q", raw, h.domain, h.path)
			}
		})
	}
}

// TestLabelsAndAnnotationsMerge: values that collide with the chart's own labels and
// annotations render each key once (decodeStrict refuses duplicates), the chart's own win,
// and the rest are kept.
func TestLabelsAndAnnotationsMerge(t *testing.T) {
	f := valuesFile(t, `
metrics:
  scrapeAnnotations: true
commonLabels:
  app.kubernetes.io/name: evil
  app.kubernetes.io/managed-by: me
  team: live
homepage:
  podLabels:
    app.kubernetes.io/component: processor
    app.kubernetes.io/instance: other
    tier: web
  podAnnotations:
    autoscaling.knative.dev/min-scale: "7"
    prometheus.io/port: "1"
    note: kept
processor:
  podLabels:
    app.kubernetes.io/name: evil
eventDriver:
  type: dispatcher
  dispatcher:
    podAnnotations:
      prometheus.io/port: "1"
      note: kept
`)
	r := decode(t, "defaults", mustRender(t, []string{f}, nil))
	hp := r.services["homepage"]
	wantLabels := map[string]string{
		"app.kubernetes.io/component": "homepage", "app.kubernetes.io/instance": releaseName,
		"app.kubernetes.io/name": "barrage", "tier": "web",
	}
	for k, v := range wantLabels {
		if got := hp.Spec.Template.Labels[k]; got != v {
			t.Errorf("homepage pod label %s = %q, want %q", k, got, v)
		}
	}
	if got := r.services["processor"].Spec.Template.Labels["app.kubernetes.io/name"]; got != "barrage" {
		t.Errorf("processor pod label app.kubernetes.io/name = %q", got)
	}
	for k, v := range map[string]string{"app.kubernetes.io/name": "barrage", "app.kubernetes.io/managed-by": "Helm", "team": "live"} {
		if got := hp.Labels[k]; got != v {
			t.Errorf("homepage Service label %s = %q, want %q", k, got, v)
		}
	}
	wantAnnotations(t, "homepage template", hp.Spec.Template.Annotations, map[string]string{
		"autoscaling.knative.dev/min-scale": "0", "prometheus.io/port": "9464", "note": "kept",
	})
	d := r.deployments[0]
	wantAnnotations(t, "dispatcher template", d.Spec.Template.Annotations, map[string]string{
		"prometheus.io/port": "9464", "note": "kept",
	})
	if got := d.Labels["app.kubernetes.io/name"]; got != "barrage" {
		t.Errorf("dispatcher label app.kubernetes.io/name = %q", got)
	}
}

// TestMetricsPortReachesEveryRole: every role is told the metrics port its pods are
// scraped on, and with metrics.port 0 the annotations name each role's own port instead.
func TestMetricsPortReachesEveryRole(t *testing.T) {
	set := []string{"metrics.scrapeAnnotations=true", "eventDriver.type=dispatcher"}
	for _, tc := range []struct {
		port string
		want map[string]string // the annotation by role; env BARRAGE_METRICS_PORT is the same or absent
		env  bool
	}{
		{"9464", map[string]string{"homepage": "9464", "processor": "9464", "dispatcher": "9464"}, true},
		{"0", map[string]string{"homepage": "8080", "processor": "8080", "dispatcher": "8082"}, false},
	} {
		r := decode(t, "defaults", mustRender(t, nil, append(set, "metrics.port="+tc.port)))
		check := func(role string, annotations map[string]string, c corev1.Container) {
			// Declared, a route or Service could reach it; the point is that none does.
			for _, p := range c.Ports {
				if fmt.Sprint(p.ContainerPort) == tc.want[role] && tc.env {
					t.Errorf("metrics.port=%s: %s declares the metrics port %d", tc.port, role, p.ContainerPort)
				}
			}
			env := c.Env
			if got := annotations["prometheus.io/port"]; got != tc.want[role] {
				t.Errorf("metrics.port=%s: %s scraped on %q, want %q", tc.port, role, got, tc.want[role])
			}
			got, ok := envMap(env)["BARRAGE_METRICS_PORT"]
			if ok != tc.env || (ok && got != tc.want[role]) {
				t.Errorf("metrics.port=%s: %s has BARRAGE_METRICS_PORT %q (set: %v)", tc.port, role, got, ok)
			}
		}
		for _, role := range []string{"homepage", "processor"} {
			svc := r.services[role]
			check(role, svc.Spec.Template.Annotations, svc.Spec.Template.Spec.Containers[0])
		}
		if len(r.deployments) != 1 {
			t.Fatalf("%d Deployments, want the dispatcher's", len(r.deployments))
		}
		d := r.deployments[0]
		check("dispatcher", d.Spec.Template.Annotations, d.Spec.Template.Spec.Containers[0])
	}
	for _, port := range []string{"8080", "9090", "8012"} {
		if _, err := render(nil, []string{"metrics.port=" + port}); err == nil || !mentions(err, "metrics.port") {
			t.Errorf("metrics.port=%s, a port the pod already uses: %v, want the schema to refuse it", port, err)
		}
	}
}
