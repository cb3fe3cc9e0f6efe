package chartcheck

import (
	"slices"
	"testing"

	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// environmentChecks hold what each environment promises beyond the invariants.
var environmentChecks = map[string]func(t *testing.T, r rendered){
	"defaults": func(t *testing.T, r rendered) {
		wantClass(t, r, "homepage", "plain")
		wantClass(t, r, "processor", "plain")
		wantKafkaSources(t, r, 1)
		wantOrdering(t, r, "unordered")
		wantEnv(t, r.services["homepage"], "KAFKA_SERVER", "barrage-kafka.barrage.svc:9092")
	},
	"dev": func(t *testing.T, r rendered) {
		wantClass(t, r, "homepage", "plain")
		wantEnv(t, r.services["homepage"], "BARRAGE_LOAD_SENDER", "true")
		wantEnv(t, r.services["homepage"], "KAFKA_SERVER", "barrage-kafka.barrage.svc:9092")
		wantKafkaSources(t, r, 0)
		if !slices.Contains(r.kinds, "StatefulSet") {
			t.Errorf("dev has no bundled Kafka; kinds %v", r.kinds)
		}
	},
	"staging": func(t *testing.T, r rendered) {
		wantKafkaSources(t, r, 1)
		wantOrdering(t, r, "unordered")
		wantEnv(t, r.services["homepage"], "BARRAGE_KAFKA_SASL_MECHANISM", "PLAIN")
		noBundledKafka(t, r)
	},
	"prod": func(t *testing.T, r rendered) {
		wantEnv(t, r.services["homepage"], "BARRAGE_LOAD_SENDER", "false")
		wantEnv(t, r.services["homepage"], "BARRAGE_KAFKA_TLS", "true")
		for role, svc := range r.services {
			lim := svc.Spec.Template.Spec.Containers[0].Resources.Limits
			if lim.Cpu().IsZero() || lim.Memory().IsZero() {
				t.Errorf("prod %s has no CPU and memory limits: %v", role, lim)
			}
		}
		wantKafkaSources(t, r, 1)
		wantOrdering(t, r, "unordered")
		noBundledKafka(t, r)
		if d := deadLetterDeployment(r); d == nil || *d.Spec.Replicas != 3 || d.Spec.Template.Spec.Containers[0].Resources.Limits.Cpu().IsZero() {
			t.Errorf("prod dead-letter sink %v: want 3 pods with CPU limits", d)
		}
	},
	"ask": func(t *testing.T, r rendered) {
		hp, pr := r.services["homepage"], r.services["processor"]
		if hp.Name != "demo-barrage" || pr.Name != "test-barrage-process" {
			t.Errorf("ask service names %s, %s; the seed's are demo-barrage and test-barrage-process", hp.Name, pr.Name)
		}
		wantClass(t, r, "homepage", "fc")
		wantClass(t, r, "processor", "eci")
		wantAnnotations(t, "ask homepage template", hp.Spec.Template.Annotations, map[string]string{
			"fc.revision.serving.knative.aliyun.com/code-space": "image",
			"fc.revision.serving.knative.aliyun.com/role-arm":   "acs:ram::xxxx:role/knative-fc",
			"fc.revision.serving.knative.aliyun.com/domain":     `{"domain":"barrage.demo.knative.top","path":"/*"}`,
		})
		wantAnnotations(t, "ask processor template", pr.Spec.Template.Annotations, map[string]string{
			"autoscaling.knative.dev/min-scale":    "0",
			"autoscaling.knative.dev/max-scale":    "100",
			"k8s.aliyun.com/eci-image-snapshot-id": "imc-uf636kjjx8xr4e75npex",
		})
		if cc := pr.Spec.Template.Spec.ContainerConcurrency; cc == nil || *cc != 2 {
			t.Errorf("ask processor containerConcurrency %v, want 2", cc)
		}
		if sa := pr.Spec.Template.Spec.ServiceAccountName; sa != "barrage-install-sa" {
			t.Errorf("ask processor serviceAccountName %q", sa)
		}
		wantKafkaSources(t, r, 1)
		wantOrdering(t, r, "unordered")
		ks := r.kafkaSources[0]
		if ks.Name != "barrage" || ks.Spec.ConsumerGroup != "barrage-info-consumer" || !slices.Equal(ks.Spec.Topics, []string{"barrage-info"}) {
			t.Errorf("ask KafkaSource %s: group %q topics %v", ks.Name, ks.Spec.ConsumerGroup, ks.Spec.Topics)
		}
		wantAnnotations(t, "ask KafkaSource", ks.Annotations, map[string]string{
			"k8s.aliyun.com/req-timeout":    "60",
			"k8s.aliyun.com/retry-count":    "5",
			"k8s.aliyun.com/retry-interval": "2",
		})
		wantEnv(t, hp, "BARRAGE_KAFKA_TLS", "true")
		if ks.Spec.Net != nil {
			t.Errorf("ask KafkaSource net %+v; the VPC brokers take plaintext", ks.Spec.Net)
		}
		if want := []string{"192.168.42.205:9092", "192.168.42.204:9092", "192.168.42.203:9092"}; !slices.Equal(ks.Spec.BootstrapServers, want) {
			t.Errorf("ask KafkaSource bootstrapServers %v, want the seed's %v", ks.Spec.BootstrapServers, want)
		}
		noBundledKafka(t, r)
	},
}

func wantClass(t *testing.T, r rendered, role, class string) {
	t.Helper()
	svc := r.services[role]
	got := svc.Annotations["workload.serving.knative.aliyun.com/class"]
	_, eci := svc.Spec.Template.Annotations["k8s.aliyun.com/eci-image-snapshot-id"]
	switch {
	case class == "fc" && got != "fc":
		t.Errorf("%s: class annotation %q, want fc", role, got)
	case class != "fc" && got != "":
		t.Errorf("%s: class annotation %q on a %s service", role, got, class)
	case class == "eci" && !eci:
		t.Errorf("%s: no ECI annotations", role)
	case class != "eci" && eci:
		t.Errorf("%s: ECI annotations on a %s service", role, class)
	}
}

func wantAnnotations(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: annotation %s = %q, want %q", what, k, got[k], v)
		}
	}
}

func wantEnv(t *testing.T, svc *servingv1.Service, name, want string) {
	t.Helper()
	if got := envMap(svc.Spec.Template.Spec.Containers[0].Env)[name]; got != want {
		t.Errorf("%s: %s = %q, want %q", svc.Name, name, got, want)
	}
}

func wantKafkaSources(t *testing.T, r rendered, n int) {
	t.Helper()
	if len(r.kafkaSources) != n {
		t.Fatalf("%d KafkaSources, want %d", len(r.kafkaSources), n)
	}
}

// wantOrdering checks every KafkaSource's delivery ordering.
func wantOrdering(t *testing.T, r rendered, want string) {
	t.Helper()
	for _, ks := range r.kafkaSources {
		if ks.Spec.Ordering == nil || *ks.Spec.Ordering != want {
			t.Errorf("KafkaSource %s: ordering %v, want %s", ks.Name, ks.Spec.Ordering, want)
		}
	}
}

func noBundledKafka(t *testing.T, r rendered) {
	t.Helper()
	if slices.Contains(r.kinds, "StatefulSet") {
		t.Errorf("the bundled Kafka is on; kinds %v", r.kinds)
	}
}
