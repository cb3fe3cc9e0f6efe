package chartcheck

import (
	"path"
	"slices"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestKafkaCAReachesEveryKafkaClient renders kafka.tls.caSecret on and off: every pod that
// talks to Kafka (it has KAFKA_SERVER) mounts the one CA Secret read-only and names the file
// in BARRAGE_KAFKA_CA_FILE, the KafkaSource reads the same Secret, and nothing else does.
func TestKafkaCAReachesEveryKafkaClient(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		set     []string
		clients []string // pods that talk to Kafka
		key     string   // the Secret key they mount, when they do
		source  bool     // the KafkaSource's caCert names it
	}{
		{name: "kafkaSource with a CA", env: "prod", set: []string{"kafka.tls.caSecret.name=kafka-ca"},
			clients: []string{"deployment/barrage-deadletter", "ksvc/homepage"}, key: "ca.crt", source: true},
		{name: "dispatcher with a CA under Alibaba's key name", env: "prod", set: []string{
			"kafka.tls.caSecret.name=kafka-ca", "kafka.tls.caSecret.key=ca-cert", "eventDriver.type=dispatcher",
		}, clients: []string{"deployment/barrage-dispatcher", "ksvc/homepage"}, key: "ca-cert"},
		{name: "TLS without a CA", env: "prod",
			clients: []string{"deployment/barrage-deadletter", "ksvc/homepage"}},
		{name: "a CA without TLS is only the source's", env: "staging", set: []string{
			"kafka.tls.caSecret.name=kafka-ca", "eventDriver.kafkaSource.tls=enabled",
		}, clients: []string{"deployment/barrage-deadletter", "ksvc/homepage"}, source: true},
		{name: "defaults", env: "defaults",
			clients: []string{"deployment/barrage-deadletter", "ksvc/homepage"}},
		{name: "dev", env: "dev", clients: []string{"deployment/barrage-dispatcher", "ksvc/homepage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, tt.env, mustRender(t, valueFiles(tt.env), tt.set))
			checkInvariants(t, r)
			var clients []string
			for owner, spec := range r.podSpecs() {
				c := spec.Containers[0]
				if envSource(c.Env, "KAFKA_SERVER") == "" {
					if ca := caMounts(spec); len(ca) > 0 || envSource(c.Env, "BARRAGE_KAFKA_CA_FILE") != "" {
						t.Errorf("%s does not talk to Kafka but has the CA: mounts %v", owner, ca)
					}
					continue
				}
				clients = append(clients, owner)
				checkCAMount(t, owner, spec, tt.key)
			}
			sort.Strings(clients)
			if !slices.Equal(clients, tt.clients) {
				t.Errorf("pods with KAFKA_SERVER %v, want %v", clients, tt.clients)
			}
			var sourceCA *SecretKeyRef
			if len(r.kafkaSources) == 1 && r.kafkaSources[0].Spec.Net != nil && r.kafkaSources[0].Spec.Net.TLS != nil {
				sourceCA = r.kafkaSources[0].Spec.Net.TLS.CACert.SecretKeyRef
			}
			if got := sourceCA != nil && sourceCA.Name == "kafka-ca"; got != tt.source {
				t.Errorf("KafkaSource caCert %+v, want it to name kafka-ca: %v", sourceCA, tt.source)
			}
		})
	}
}

// caMounts lists the mounts of a pod's container that come from a Secret volume.
func caMounts(spec corev1.PodSpec) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, m := range spec.Containers[0].VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// checkCAMount asserts that BARRAGE_KAFKA_CA_FILE is a file of a read-only mount of the CA
// Secret's key, or, when key is empty, that the pod has neither.
func checkCAMount(t *testing.T, owner string, spec corev1.PodSpec, key string) {
	t.Helper()
	file := envSource(spec.Containers[0].Env, "BARRAGE_KAFKA_CA_FILE")
	mounts := caMounts(spec)
	if key == "" {
		if file != "" || len(mounts) > 0 {
			t.Errorf("%s: BARRAGE_KAFKA_CA_FILE %q and Secret mounts %v, want none", owner, file, mounts)
		}
		return
	}
	if len(mounts) != 1 {
		t.Fatalf("%s: Secret mounts %v, want the CA alone", owner, mounts)
	}
	m := mounts[0]
	if !m.ReadOnly || path.Dir(file) != m.MountPath {
		t.Errorf("%s: BARRAGE_KAFKA_CA_FILE %q, mount %+v: want a file of a read-only mount", owner, file, m)
	}
	for _, v := range spec.Volumes {
		if v.Name != m.Name {
			continue
		}
		items := v.Secret.Items
		if v.Secret.SecretName != "kafka-ca" || len(items) != 1 || items[0].Key != key || items[0].Path != path.Base(file) {
			t.Errorf("%s: CA volume %+v does not put kafka-ca's key %s at %s", owner, v.Secret, key, file)
		}
	}
}
