package chartcheck

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"knative.dev/pkg/apis"
	"knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// credentialEnv are the env names that must only ever come from a Secret.
var credentialEnv = []string{"OTS_KEYID", "OTS_SECRET", "KAFKA_USER", "KAFKA_PWD"}

// rendered is a release decoded strictly into the types the cluster uses.
type rendered struct {
	services     map[string]*servingv1.Service // by app.kubernetes.io/component
	kafkaSources []*KafkaSource
	alphaSources []*KafkaSourceV1Alpha1
	secrets      []*corev1.Secret
	deployments  []*appsv1.Deployment
	coreServices []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
	testPods     []*corev1.Pod
	kinds        []string
}

var strictCodecs = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)

// clusterFeatures are the Knative Serving feature flags (config-features) of the cluster an
// environment targets. Alibaba's Knative turns on the downward API the ASK seed uses.
var clusterFeatures = map[string]map[string]string{
	"ask": {"kubernetes.podspec-fieldref": "enabled"},
}

// decode decodes every manifest strictly and runs Knative's own checks on the Services,
// with the feature flags of the environment's cluster.
func decode(t *testing.T, env string, docs []doc) rendered {
	t.Helper()
	r := rendered{services: map[string]*servingv1.Service{}}
	for _, d := range docs {
		r.kinds = append(r.kinds, d.kind)
		switch {
		case d.apiVersion == "serving.knative.dev/v1" && d.kind == "Service":
			svc := knativeService(t, env, d)
			role := svc.Labels["app.kubernetes.io/component"]
			if r.services[role] != nil {
				t.Errorf("two Knative Services for %q", role)
			}
			r.services[role] = svc
		case d.kind == "KafkaSource" && d.apiVersion == "sources.knative.dev/v1alpha1":
			var ks KafkaSourceV1Alpha1
			if err := decodeStrict(d.raw, &ks); err != nil {
				t.Fatalf("%s: KafkaSource does not decode strictly as v1alpha1: %v", d.source, err)
			}
			r.alphaSources = append(r.alphaSources, &ks)
		case d.kind == "KafkaSource":
			var ks KafkaSource
			if err := decodeStrict(d.raw, &ks); err != nil {
				t.Fatalf("%s: KafkaSource does not decode strictly as v1beta1: %v", d.source, err)
			}
			r.kafkaSources = append(r.kafkaSources, &ks)
		default:
			obj, _, err := strictCodecs.UniversalDeserializer().Decode(d.raw, nil, nil)
			if err != nil {
				t.Fatalf("%s: %s/%s does not decode strictly: %v", d.source, d.apiVersion, d.kind, err)
			}
			switch o := obj.(type) {
			case *corev1.Secret:
				r.secrets = append(r.secrets, o)
			case *appsv1.Deployment:
				r.deployments = append(r.deployments, o)
			case *corev1.Service:
				r.coreServices = append(r.coreServices, o)
			case *policyv1.PodDisruptionBudget:
				r.pdbs = append(r.pdbs, o)
			case *corev1.Pod:
				if o.Annotations["helm.sh/hook"] == "test" {
					r.testPods = append(r.testPods, o)
				}
			}
		}
	}
	return r
}

// knativeService decodes a Knative Service strictly, then defaults and validates a copy the
// way Serving's admission webhook does; warnings are logged, errors fail the test.
func knativeService(t *testing.T, env string, d doc) *servingv1.Service {
	t.Helper()
	var svc servingv1.Service
	if err := decodeStrict(d.raw, &svc); err != nil {
		t.Fatalf("%s: Knative Service does not decode strictly: %v", d.source, err)
	}
	features, err := config.NewFeaturesConfigFromMap(clusterFeatures[env])
	if err != nil {
		t.Fatal(err)
	}
	ctx := config.ToContext(context.Background(), &config.Config{Features: features})
	ctx = apis.WithinCreate(ctx)
	defaulted := svc.DeepCopy()
	defaulted.SetDefaults(ctx)
	if fe := defaulted.Validate(ctx); fe != nil {
		if w := fe.Filter(apis.WarningLevel); w != nil {
			t.Logf("%s: Knative warns: %v", d.source, w)
		}
		if e := fe.Filter(apis.ErrorLevel); e != nil {
			t.Errorf("%s: Knative refuses Service %s: %v", d.source, svc.Name, e)
		}
	}
	return &svc
}

// podSpecs lists every pod spec of the release with a name for messages.
func (r rendered) podSpecs() map[string]corev1.PodSpec {
	specs := map[string]corev1.PodSpec{}
	for role, s := range r.services {
		specs["ksvc/"+role] = s.Spec.Template.Spec.PodSpec
	}
	for _, d := range r.deployments {
		specs["deployment/"+d.Name] = d.Spec.Template.Spec
	}
	for _, p := range r.testPods {
		specs["test/"+p.Name] = p.Spec
	}
	return specs
}

// checkInvariants asserts what holds for every set of values: two Knative Services that run
// their role, restricted pods, credentials only through secretKeyRef into a Secret that has
// the key, and exactly one event driver that never drops an event silently.
func checkInvariants(t *testing.T, r rendered) {
	t.Helper()
	for _, role := range []string{"homepage", "processor"} {
		svc := r.services[role]
		if svc == nil {
			t.Fatalf("no Knative Service for %s; kinds %v", role, r.kinds)
		}
		c := svc.Spec.Template.Spec.Containers
		if len(c) != 1 || !slices.Equal(c[0].Args, []string{role}) {
			t.Errorf("%s: container args %v, want [%s]", role, c[0].Args, role)
		}
	}
	if len(r.services) != 2 {
		t.Errorf("Knative Services %v, want homepage and processor", len(r.services))
	}
	secretKeys := map[string][]string{}
	for _, s := range r.secrets {
		for k := range s.Data {
			secretKeys[s.Name] = append(secretKeys[s.Name], k)
		}
	}
	for owner, spec := range r.podSpecs() {
		checkRestricted(t, owner, spec)
		for _, c := range spec.Containers {
			for _, e := range c.Env {
				ref := (*corev1.SecretKeySelector)(nil)
				if e.ValueFrom != nil {
					ref = e.ValueFrom.SecretKeyRef
				}
				if slices.Contains(credentialEnv, e.Name) && (e.Value != "" || ref == nil) {
					t.Errorf("%s: %s is not read from a Secret", owner, e.Name)
				}
				if ref == nil {
					continue
				}
				if keys, ok := secretKeys[ref.Name]; ok && !slices.Contains(keys, ref.Key) {
					t.Errorf("%s: %s reads key %q that Secret %s does not have (%v)", owner, e.Name, ref.Key, ref.Name, keys)
				}
			}
		}
	}
	drivers := len(r.kafkaSources) + len(r.alphaSources)
	for _, d := range r.deployments {
		if strings.HasSuffix(d.Name, "-dispatcher") {
			drivers++
			checkDispatcher(t, d, r.services["processor"])
		}
	}
	if drivers != 1 {
		t.Errorf("%d event drivers, want exactly one", drivers)
	}
	for _, ks := range r.kafkaSources {
		checkKafkaSource(t, ks, r.services["processor"].Name)
	}
	checkDeadLetterSink(t, r)
	checkOIDC(t, r)
	checkAdminToken(t, r)
	checkTestPod(t, r)
}

// checkTestPod asserts the `helm test` hook probes both Knative Services at their cluster
// addresses; no kubelet runs it here, so rendering is its proof.
func checkTestPod(t *testing.T, r rendered) {
	t.Helper()
	if len(r.testPods) != 1 {
		t.Fatalf("%d helm test pods, want 1", len(r.testPods))
	}
	p := r.testPods[0]
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test pod restartPolicy %q", p.Spec.RestartPolicy)
	}
	c := p.Spec.Containers[0]
	env := envMap(c.Env)
	for name, role := range map[string]string{"HOMEPAGE": "homepage", "PROCESSOR": "processor"} {
		want := fmt.Sprintf("http://%s.%s.svc.cluster.local", r.services[role].Name, namespace)
		if env[name] != want {
			t.Errorf("test pod %s = %q, want %q", name, env[name], want)
		}
		if script := strings.Join(c.Command, " "); !strings.Contains(script, "$"+name+"/readyz") {
			t.Errorf("test pod does not probe $%s/readyz: %s", name, script)
		}
	}
}

func checkRestricted(t *testing.T, owner string, spec corev1.PodSpec) {
	t.Helper()
	podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s/%s: no securityContext", owner, c.Name)
		case !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot):
			t.Errorf("%s/%s: may run as root", owner, c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s/%s: writable root filesystem", owner, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: privilege escalation allowed", owner, c.Name)
		case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
			t.Errorf("%s/%s: capabilities not dropped", owner, c.Name)
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s/%s: no RuntimeDefault seccomp profile", owner, c.Name)
		}
	}
}

var isoSeconds = regexp.MustCompile(`^PT([0-9]+)S$`)

// checkKafkaSource asserts a KafkaSource delivers to the processor, dead-letters what runs
// out of retries, and carries the same numbers in the seed's Alibaba annotations.
func checkKafkaSource(t *testing.T, ks *KafkaSource, processor string) {
	t.Helper()
	ctx := context.Background()
	s := ks.Spec
	if len(s.BootstrapServers) == 0 || len(s.Topics) == 0 || s.ConsumerGroup == "" {
		t.Errorf("KafkaSource: servers %v, topics %v, group %q", s.BootstrapServers, s.Topics, s.ConsumerGroup)
	}
	if !slices.Contains([]string{"earliest", "latest"}, s.InitialOffset) {
		t.Errorf("KafkaSource: initialOffset %q", s.InitialOffset)
	}
	if s.Ordering == nil || !slices.Contains([]string{"ordered", "unordered"}, *s.Ordering) {
		t.Errorf("KafkaSource: ordering %v", s.Ordering)
	}
	if err := s.Sink.Validate(ctx); err != nil {
		t.Errorf("KafkaSource: sink: %v", err)
	}
	if s.Sink.Ref == nil || s.Sink.Ref.Name != processor {
		t.Errorf("KafkaSource: sink %+v, want the processor %s", s.Sink, processor)
	}
	d := s.Delivery
	if d == nil || d.DeadLetterSink == nil {
		t.Fatalf("KafkaSource: no dead letter sink: an event out of retries would be committed and lost")
	}
	if err := d.DeadLetterSink.Validate(ctx); err != nil {
		t.Errorf("KafkaSource: deadLetterSink: %v", err)
	}
	if d.Retry == nil || d.BackoffDelay == nil || d.BackoffPolicy == nil {
		t.Fatalf("KafkaSource: delivery %+v lacks retry, backoffDelay or backoffPolicy", d)
	}
	if !slices.Contains([]string{"exponential", "linear"}, *d.BackoffPolicy) {
		t.Errorf("KafkaSource: backoffPolicy %q", *d.BackoffPolicy)
	}
	if n := seconds(t, "backoffDelay", d.BackoffDelay); ks.Annotations["k8s.aliyun.com/retry-interval"] != "" &&
		ks.Annotations["k8s.aliyun.com/retry-interval"] != strconv.Itoa(n) {
		t.Errorf("KafkaSource: retry-interval annotation %q, backoffDelay %s", ks.Annotations["k8s.aliyun.com/retry-interval"], *d.BackoffDelay)
	}
	if a := ks.Annotations["k8s.aliyun.com/retry-count"]; a != "" && a != strconv.Itoa(int(*d.Retry)) {
		t.Errorf("KafkaSource: retry-count annotation %q, retry %d", a, *d.Retry)
	}
	if a := ks.Annotations["k8s.aliyun.com/req-timeout"]; a != "" && d.Timeout != nil && a != strconv.Itoa(seconds(t, "timeout", d.Timeout)) {
		t.Errorf("KafkaSource: req-timeout annotation %q, timeout %s", a, *d.Timeout)
	}
	if n := s.Net; n != nil && n.SASL != nil && n.SASL.Enable {
		for name, v := range map[string]SecretValue{"user": n.SASL.User, "password": n.SASL.Password, "type": n.SASL.Type} {
			if v.SecretKeyRef == nil || v.SecretKeyRef.Name == "" || v.SecretKeyRef.Key == "" {
				t.Errorf("KafkaSource: net.sasl.%s is not a secretKeyRef", name)
			}
		}
	}
}

func seconds(t *testing.T, field string, iso *string) int {
	t.Helper()
	if iso == nil {
		return 0
	}
	m := isoSeconds.FindStringSubmatch(*iso)
	if m == nil {
		t.Errorf("KafkaSource: delivery.%s %q is not an ISO 8601 duration in seconds", field, *iso)
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// checkDispatcher asserts the dispatcher posts to the processor's cluster address.
func checkDispatcher(t *testing.T, d *appsv1.Deployment, processor *servingv1.Service) {
	t.Helper()
	env := envMap(d.Spec.Template.Spec.Containers[0].Env)
	want := fmt.Sprintf("http://%s.%s.svc.cluster.local", processor.Name, namespace)
	if env["K_SINK"] != want {
		t.Errorf("dispatcher K_SINK %q, want %q", env["K_SINK"], want)
	}
	if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"dispatcher"}) {
		t.Errorf("dispatcher args %v", args)
	}
}

// envMap returns the plain values of an env list.
func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}
