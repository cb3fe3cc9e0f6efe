package chartcheck

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// storeEnv are the settings of a role that opens the store; the dead-letter sink has none.
var storeEnv = []string{"OTS_ENDPOINT", "OTS_KEYID", "OTS_SECRET", "BARRAGE_DATA_DIR"}

// checkDeadLetterSink asserts that a KafkaSource left with the chart's default dead-letter
// sink reaches it: the ref names a ClusterIP Service whose pods are a Deployment of
// `barrage deadletter`, at least two, guarded by a PodDisruptionBudget, with Kafka settings
// and credentials from the HomePage's Secret and no store. Without a KafkaSource, or with a
// user-given sink, the chart deploys none.
func checkDeadLetterSink(t *testing.T, r rendered) {
	t.Helper()
	sink := deadLetterDeployment(r)
	want := deadLetterServiceRef(r)
	if want == "" {
		if sink != nil {
			t.Errorf("deployment %s rendered with no KafkaSource pointing at it", sink.Name)
		}
		return
	}
	var svc *corev1.Service
	for _, s := range r.coreServices {
		if s.Name == want {
			svc = s
		}
	}
	if svc == nil {
		t.Fatalf("the KafkaSource's deadLetterSink names Service %s, which is not rendered", want)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("Service %s: type %q ports %+v; want ClusterIP to the pods' http port", svc.Name, svc.Spec.Type, svc.Spec.Ports)
	}
	if sink == nil {
		t.Fatalf("no dead-letter sink Deployment behind Service %s", want)
	}
	pods := labels.Set(sink.Spec.Template.Labels)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(pods) {
		t.Errorf("Service %s selects %v, not the sink's pods %v", svc.Name, svc.Spec.Selector, pods)
	}
	if p := r.services["processor"].Spec.Template.Labels; labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p)) {
		t.Errorf("Service %s also selects the processor's pods %v", svc.Name, p)
	}
	if sink.Spec.Replicas == nil || *sink.Spec.Replicas < 2 {
		t.Errorf("dead-letter sink replicas %v, want at least 2", sink.Spec.Replicas)
	}
	guarded := false
	for _, pdb := range r.pdbs {
		sel := pdb.Spec.Selector
		if sel != nil && labels.SelectorFromSet(sel.MatchLabels).Matches(pods) && pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= 1 {
			guarded = true
		}
	}
	if !guarded {
		t.Error("no PodDisruptionBudget keeps a dead-letter sink pod available")
	}
	c := sink.Spec.Template.Spec.Containers[0]
	env := envMap(c.Env)
	if env["KAFKA_SERVER"] == "" || env["KAFKA_TOPIC"] == "" || env["BARRAGE_DEAD_LETTER_TOPIC"] == "" {
		t.Errorf("dead-letter sink env %v lacks the Kafka settings", env)
	}
	for _, name := range storeEnv {
		if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name }) {
			t.Errorf("dead-letter sink has store setting %s; it must never touch the store", name)
		}
	}
	hp := r.services["homepage"].Spec.Template.Spec.Containers[0].Env
	for _, name := range []string{"KAFKA_USER", "KAFKA_PWD", "BARRAGE_KAFKA_TLS", "BARRAGE_KAFKA_SASL_MECHANISM", "KAFKA_SERVER"} {
		if got, want := envSource(c.Env, name), envSource(hp, name); got != want {
			t.Errorf("dead-letter sink %s is %q, the HomePage's %q", name, got, want)
		}
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("dead-letter sink probes %+v %+v", c.ReadinessProbe, c.LivenessProbe)
	}
}

// deadLetterServiceRef is the core Service a KafkaSource's deadLetterSink refers to, if any.
func deadLetterServiceRef(r rendered) string {
	for _, ks := range r.kafkaSources {
		if ref := ks.Spec.Delivery.DeadLetterSink.Ref; ref != nil && ref.APIVersion == "v1" && ref.Kind == "Service" {
			return ref.Name
		}
	}
	return "" // a v1alpha1 KafkaSource has no delivery, so no dead-letter sink
}

// TestDeadLetterSinkInEveryKafkaSourceEnvironment: wherever an environment runs a
// KafkaSource, its dead letters go to the chart's sink; with the dispatcher, which writes
// the topic itself, no sink is deployed.
func TestDeadLetterSinkInEveryKafkaSourceEnvironment(t *testing.T) {
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			r := decode(t, env, mustRender(t, valueFiles(env), nil))
			sources := len(r.kafkaSources)
			sink := deadLetterDeployment(r)
			switch {
			case sources > 0 && deadLetterServiceRef(r) != "barrage-deadletter":
				t.Errorf("the KafkaSource's deadLetterSink is %q, want the sink Service barrage-deadletter", deadLetterServiceRef(r))
			case sources > 0 && sink == nil:
				t.Error("no dead-letter sink Deployment")
			case sources == 0 && sink != nil:
				t.Errorf("dispatcher mode renders the sink %s; the dispatcher writes the topic itself", sink.Name)
			}
		})
	}
}

func deadLetterDeployment(r rendered) *appsv1.Deployment {
	for _, d := range r.deployments {
		if c := d.Spec.Template.Spec.Containers; len(c) == 1 && slices.Equal(c[0].Args, []string{"deadletter"}) {
			return d
		}
	}
	return nil
}

// envSource is an env entry as a comparable string: its value, or the Secret key it reads.
func envSource(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return "secret " + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
		return strings.TrimSpace(e.Value)
	}
	return ""
}
