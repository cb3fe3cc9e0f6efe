package chartcheck

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

const visibilityLabel = "networking.knative.dev/visibility"

// checkOIDC asserts the processor has no external route while the HomePage does, and that
// the audience the KafkaSource asks tokens for is the one the processor checks: a source
// with an audience and a processor without it would let anyone in, and the other way round
// would refuse every event.
func checkOIDC(t *testing.T, r rendered) {
	t.Helper()
	if got := r.services["processor"].Labels[visibilityLabel]; got != "cluster-local" {
		t.Errorf("processor %s = %q, want cluster-local: it would take events from the internet", visibilityLabel, got)
	}
	if got, ok := r.services["homepage"].Labels[visibilityLabel]; ok {
		t.Errorf("homepage %s = %q: the page must stay public", visibilityLabel, got)
	}
	env := envMap(r.services["processor"].Spec.Template.Spec.Containers[0].Env)
	aud, checks := env["BARRAGE_OIDC_AUDIENCE"]
	for _, ks := range r.kafkaSources {
		sink := ks.Spec.Sink.Audience
		switch {
		case sink == nil && checks:
			t.Errorf("the processor checks tokens for %q but the KafkaSource asks for none", aud)
		case sink != nil && *sink != aud:
			t.Errorf("KafkaSource sink.audience %q, processor BARRAGE_OIDC_AUDIENCE %q", *sink, aud)
		}
		dls := ks.Spec.Delivery.DeadLetterSink
		toProcessor := dls.Ref != nil && dls.Ref.Name == r.services["processor"].Name
		if toProcessor && (dls.Audience == nil) == checks {
			t.Errorf("deadLetterSink to the processor with audience %v while the processor checks %q", dls.Audience, aud)
		}
		if toProcessor && checks && *dls.Audience != aud {
			t.Errorf("deadLetterSink.audience %q, want the processor's %q", *dls.Audience, aud)
		}
	}
	// The chart's own sink checks tokens for the audience the KafkaSource asks for it.
	if sink := deadLetterDeployment(r); sink != nil && len(r.kafkaSources) > 0 {
		got, sinkChecks := envMap(sink.Spec.Template.Spec.Containers[0].Env)["BARRAGE_OIDC_AUDIENCE"]
		dls := r.kafkaSources[0].Spec.Delivery.DeadLetterSink
		switch {
		case sinkChecks != checks:
			t.Errorf("the dead-letter sink checks tokens: %v, the processor: %v", sinkChecks, checks)
		case checks && (dls.Audience == nil || *dls.Audience != got):
			t.Errorf("deadLetterSink.audience %v, the sink's BARRAGE_OIDC_AUDIENCE %q", dls.Audience, got)
		case checks && sink.Spec.Template.Spec.AutomountServiceAccountToken == nil:
			t.Error("the dead-letter sink checks tokens but may not mount the token it reads the keys with")
		}
	}
	if checks && len(r.kafkaSources) == 0 {
		t.Error("the processor checks tokens but no KafkaSource sends them")
	}
}

// checkAdminToken asserts a HomePage with the load sender reads its operator token from a
// Secret, and one without it has none.
func checkAdminToken(t *testing.T, r rendered) {
	t.Helper()
	hp := r.services["homepage"].Spec.Template.Spec.Containers[0]
	ref := secretRef(hp.Env, "BARRAGE_ADMIN_TOKEN")
	on := envMap(hp.Env)["BARRAGE_LOAD_SENDER"] == "true"
	switch {
	case on && ref == nil:
		t.Error("the load sender is on but BARRAGE_ADMIN_TOKEN is not read from a Secret")
	case !on && ref != nil:
		t.Error("BARRAGE_ADMIN_TOKEN is set while the load sender is off")
	}
}

func secretRef(env []corev1.EnvVar, name string) *corev1.SecretKeySelector {
	for _, e := range env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

func wantLabel(t *testing.T, svc *servingv1.Service, key, want string) {
	t.Helper()
	if got := svc.Labels[key]; got != want {
		t.Errorf("%s: label %s = %q, want %q", svc.Name, key, got, want)
	}
}
