package chartcheck

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const defaultImage = "homepage.image.repository=ghcr.io/barrage-live/barrage"

// TestFunctionComputeNeedsACR: an fc service whose image is not in Alibaba Container
// Registry fails the render, naming the value and the reason; ask.yaml therefore needs the
// user's ACR image, and renders with one.
func TestFunctionComputeNeedsACR(t *testing.T) {
	refused := []struct{ set []string }{
		{[]string{defaultImage}},
		{[]string{"homepage.image.repository=docker.io/me/barrage"}},
		{[]string{"homepage.image.repository=evil.com/registry.cn-hangzhou.aliyuncs.com/x"}},
		{[]string{"homepage.image.repository=registry.cn-hangzhou.aliyuncs.com.evil.com/x/barrage"}},
	}
	for _, tt := range refused {
		_, err := render(valueFiles("ask"), tt.set)
		want := `homepage.image.repository "` + strings.TrimPrefix(tt.set[0], "homepage.image.repository=") +
			`": Function Compute pulls only from Alibaba Container Registry (ACR)`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ask with %v: error %v, want %q", tt.set, err, want)
		}
	}
	_, err := render(valueFiles("defaults"), []string{"processor.workloadClass=fc", "processor.fc.roleArn=acs:ram::1:role/fc"})
	if err == nil || !strings.Contains(err.Error(), "processor.image.repository") {
		t.Errorf("an fc processor on the default image: %v", err)
	}
	for _, repo := range []string{
		"registry.cn-shanghai.aliyuncs.com/barrage-example/barrage",
		"registry-vpc.cn-hangzhou.aliyuncs.com/ns/barrage",
		"my-instance-registry.cn-hangzhou.cr.aliyuncs.com/ns/barrage",
	} {
		r := decode(t, "ask", mustRender(t, valueFiles("ask"), []string{"homepage.image.repository=" + repo}))
		if got := r.services["homepage"].Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(got, repo+":") {
			t.Errorf("homepage image %q, want %s", got, repo)
		}
	}
	// Off FC the default image is fine.
	mustRender(t, valueFiles("ask"), []string{defaultImage, "homepage.workloadClass=plain"})
}

// TestTracingFromSecret: tracing.secret puts TRACING on every role through a secretKeyRef,
// so a URL with a token in its path never sits in a manifest; the schema refuses it
// together with tracing.url.
func TestTracingFromSecret(t *testing.T) {
	for _, driver := range []string{"kafkaSource", "dispatcher"} {
		r := decode(t, "prod", mustRender(t, valueFiles("prod"), []string{
			"eventDriver.type=" + driver, "tracing.secret.name=alibaba-tracing", "tracing.secret.key=url",
		}))
		specs := r.podSpecs()
		delete(specs, "test/barrage-test-health")
		if len(specs) != 3 {
			t.Fatalf("%s: pods %v", driver, len(specs))
		}
		for owner, spec := range specs {
			var tracing []corev1.EnvVar
			for _, e := range spec.Containers[0].Env {
				if e.Name == "TRACING" {
					tracing = append(tracing, e)
				}
			}
			if len(tracing) != 1 || tracing[0].Value != "" || tracing[0].ValueFrom == nil || tracing[0].ValueFrom.SecretKeyRef == nil ||
				tracing[0].ValueFrom.SecretKeyRef.Name != "alibaba-tracing" || tracing[0].ValueFrom.SecretKeyRef.Key != "url" {
				t.Errorf("%s %s: TRACING %+v, want one secretKeyRef to alibaba-tracing/url", driver, owner, tracing)
			}
		}
	}
	_, err := render(valueFiles("prod"), []string{"tracing.url=http://otel:4318/v1/traces", "tracing.secret.name=alibaba-tracing"})
	if err == nil || !strings.Contains(err.Error(), "at '/tracing/secret/name': value must be ''") {
		t.Errorf("tracing.url with tracing.secret.name: %v, want a schema error at /tracing/secret/name", err)
	}
	mustRender(t, valueFiles("prod"), []string{"tracing.url=http://otel:4318/v1/traces", "tracing.secret.key=url"})
}

// TestV1Alpha1Notes: helm's notes warn that a v1alpha1 KafkaSource has no dead-letter sink
// and say what else it lacks; the v1beta1 notes do not.
func TestV1Alpha1Notes(t *testing.T) {
	rel, err := dryRunInstall(valueFiles("ask"), []string{"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1alpha1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WARNING: a v1alpha1 KafkaSource has no dead-letter sink", "committed and lost",
		"k8s.aliyun.com annotations", "ordering or initialOffset", "SASL\nPLAIN only"} {
		if !strings.Contains(rel.Info.Notes, want) {
			t.Errorf("v1alpha1 notes lack %q:\n%s", want, rel.Info.Notes)
		}
	}
	rel, err = dryRunInstall(valueFiles("ask"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rel.Info.Notes, "v1alpha1") {
		t.Errorf("v1beta1 notes mention v1alpha1:\n%s", rel.Info.Notes)
	}
}
