package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
)

// renderEnv renders an environment of the real chart with the given overrides.
func renderEnv(t *testing.T, env string, set ...string) []workload {
	t.Helper()
	dir := "../../charts/barrage"
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := mergedValues([]string{filepath.Join(dir, "environments", env+".yaml")}, set)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := render(ch, release, namespace, vals)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func find(t *testing.T, ws []workload, name string) workload {
	t.Helper()
	for _, w := range ws {
		if w.name == name {
			return w
		}
	}
	t.Fatalf("no workload %s", name)
	return workload{}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

// TestPodContainerIsThePodSpec: the podman flags carry the rendered pod's Secret values,
// Knative's env, its user and read-only root, its Secret volume, and its probes' ports.
func TestPodContainerIsThePodSpec(t *testing.T) {
	ws := renderEnv(t, "prod", standIns{store: "ots", storeInstance: "i", kafka: "kafka", kafkaPort: 9093,
		caSecret: "ca", needsDispatcher: true}.overrides()...)
	dir := t.TempDir()
	sec := secrets{
		"barrage-credentials": {"OTS_KEYID": "id", "OTS_SECRET": "s3cret", "KAFKA_USER": "u", "KAFKA_PWD": "pw", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"},
		"ca":                  {"ca.crt": "PEM"},
	}
	services := map[string]string{"barrage-processor": "run-barrage-processor"}
	pc := func(name string, extra map[string]string) podContext {
		return podContext{name: name, namespace: namespace, network: "net", dir: dir, secrets: sec, extraEnv: extra,
			rewrite: func(v string) string { return serviceURL(v, namespace, services) }}
	}

	home, err := podContainer(find(t, ws, "barrage-homepage"), pc("run-barrage-homepage", knativeEnv("barrage-homepage")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"--read-only", "--read-only-tmpfs=false"}, {"--cap-drop", "ALL"}, {"--security-opt", "no-new-privileges"},
		{"-p", "127.0.0.1::8080"}, {"--network", "net"},
		{"-v", filepath.Join(dir, "run-barrage-homepage-kafka-ca") + ":/etc/barrage/kafka-ca:ro"},
	} {
		if i := slices.Index(home.args, want[0]); i < 0 || !slices.Contains(home.args[i:], want[len(want)-1]) {
			t.Errorf("homepage args %v lack %v", home.args, want)
		}
	}
	if home.args[len(home.args)-2] != home.image || home.args[len(home.args)-1] != "homepage" {
		t.Errorf("homepage args end %v, want the image and its role", home.args[len(home.args)-2:])
	}
	if strings.Contains(strings.Join(home.args, " "), "pw") {
		t.Error("a Secret value is on podman's command line")
	}
	env := readEnv(t, filepath.Join(dir, "run-barrage-homepage.env"))
	for k, v := range map[string]string{
		"KAFKA_PWD": "pw", "OTS_SECRET": "s3cret", "PORT": "8080", "K_SERVICE": "barrage-homepage",
		"KAFKA_SERVER": "kafka:9093", "BARRAGE_KAFKA_CA_FILE": "/etc/barrage/kafka-ca/ca.crt", "OTS_ENDPOINT": "http://ots:8080",
	} {
		if env[k] != v {
			t.Errorf("homepage env %s=%q, want %q", k, env[k], v)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "run-barrage-homepage-kafka-ca", "ca.crt")); err != nil || string(b) != "PEM" {
		t.Errorf("CA file %q, %v", b, err)
	}
	if len(home.probes) != 2 || home.probes[0].port != 8080 {
		t.Errorf("homepage probes %+v, want two on Knative's port", home.probes)
	}

	disp, err := podContainer(find(t, ws, "barrage-dispatcher"), pc("run-barrage-dispatcher", nil))
	if err != nil {
		t.Fatal(err)
	}
	denv := readEnv(t, filepath.Join(dir, "run-barrage-dispatcher.env"))
	if denv["K_SINK"] != "http://run-barrage-processor:8080" || denv["POD_NAME"] != "run-barrage-dispatcher" || denv["POD_NAMESPACE"] != namespace {
		t.Errorf("dispatcher K_SINK %q POD_NAME %q POD_NAMESPACE %q", denv["K_SINK"], denv["POD_NAME"], denv["POD_NAMESPACE"])
	}
	if _, ok := denv["K_SERVICE"]; ok {
		t.Error("a Deployment got Knative's env")
	}
	if len(disp.probes) != 2 || disp.probes[0].port != 8082 {
		t.Errorf("dispatcher probes %+v, want the named port health (8082)", disp.probes)
	}
}

// TestPodContainerRefusesWhatItCannotReproduce: a pod the check would run differently
// from the kubelet is an error that names the part.
func TestPodContainerRefusesWhatItCannotReproduce(t *testing.T) {
	uid0 := int64(0)
	yes := true
	base := func() corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i", Env: []corev1.EnvVar{{Name: "A", Value: "a"}}}}}
	}
	tests := []struct {
		name   string
		mutate func(*corev1.PodSpec)
		want   string
	}{
		{"a missing Secret key", func(s *corev1.PodSpec) {
			s.Containers[0].Env = append(s.Containers[0].Env, corev1.EnvVar{Name: "P", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "nope"}}})
		}, `Secret "creds" has no key "nope"`},
		{"an unknown fieldRef", func(s *corev1.PodSpec) {
			s.Containers[0].Env = append(s.Containers[0].Env, corev1.EnvVar{Name: "IP", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}})
		}, "fieldRef status.podIP"},
		{"variable expansion", func(s *corev1.PodSpec) { s.Containers[0].Env[0].Value = "$(A)" }, "expansion"},
		{"a hostPath volume", func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			s.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/h"}}
		}, "only emptyDir and secret"},
		{"two containers", func(s *corev1.PodSpec) { s.Containers = append(s.Containers, s.Containers[0]) }, "2 containers"},
		{"root with runAsNonRoot", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: &uid0, RunAsNonRoot: &yes}
		}, "runAsNonRoot with runAsUser 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := base()
			tt.mutate(&spec)
			_, err := podContainer(workload{kind: "deployment", name: "d", spec: spec},
				podContext{name: "d", dir: t.TempDir(), secrets: secrets{"creds": {"k": "v"}}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestServiceURL(t *testing.T) {
	services := map[string]string{"barrage-processor": "run-processor"}
	tests := []struct{ name, in, want string }{
		{"a Knative Service's cluster address", "http://barrage-processor.barrage.svc.cluster.local", "http://run-processor:8080"},
		{"the short form, with a path", "http://barrage-processor.barrage.svc/x", "http://run-processor:8080/x"},
		{"another namespace", "http://barrage-processor.other.svc.cluster.local", "http://barrage-processor.other.svc.cluster.local"},
		{"not a Knative Service", "http://barrage-deadletter.barrage.svc.cluster.local", "http://barrage-deadletter.barrage.svc.cluster.local"},
		{"not a URL", "barrage-processor.barrage.svc", "barrage-processor.barrage.svc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serviceURL(tt.in, namespace, services); got != tt.want {
				t.Errorf("serviceURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestEmptyDirIsAWritableTmpfs: the pod's one writable place is its emptyDir, as a tmpfs
// any pod user can write, on an otherwise read-only root.
func TestEmptyDirIsAWritableTmpfs(t *testing.T) {
	yes := true
	spec := corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		Containers: []corev1.Container{{Name: "c", Image: "i", Args: []string{"processor"},
			VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/barrage"}},
			SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes}}},
	}
	c, err := podContainer(workload{kind: "ksvc", name: "p", spec: spec}, podContext{name: "p", dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(c.args, " ")
	for _, want := range []string{"--read-only --read-only-tmpfs=false", "--mount type=tmpfs,destination=/var/lib/barrage,tmpfs-mode=1777", "i processor"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", joined, want)
		}
	}
}
