package chartcheck

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const checksumKey = "checksum/secret"

// TestSecretChecksum: every pod template that reads the chart-made Secret carries the
// sha256 of its data, so a changed credential rolls the pods; with an existingSecret,
// which the chart never sees, none does.
func TestSecretChecksum(t *testing.T) {
	token := strings.Repeat("k", 40)
	created := []string{
		"localKafka.enabled=false", "kafka.bootstrapServers=k1:9092", "kafka.sasl.enabled=true",
		"credentials.kafkaUser=u", "credentials.kafkaPassword=p1", "credentials.adminToken=" + token,
		"store.tablestore.endpoint=https://x.ots.aliyuncs.com", "store.tablestore.instanceName=x",
		"credentials.otsKeyId=id", "credentials.otsSecret=s",
	}
	for _, driver := range []string{"kafkaSource", "dispatcher"} {
		t.Run(driver, func(t *testing.T) {
			set := append([]string{"eventDriver.type=" + driver}, created...)
			r := decode(t, "defaults", mustRender(t, nil, set))
			if len(r.secrets) != 1 {
				t.Fatalf("%d Secrets", len(r.secrets))
			}
			want := dataChecksum(t, r.secrets[0])
			// Pod specs are readable by more people than Secrets are: without the salt, the
			// hash would let them test guesses at a weak password offline.
			salted := r.secrets[0].DeepCopy()
			if len(salted.Data["checksum-salt"]) < 32 {
				t.Fatalf("checksum-salt %q, want 32 random characters", salted.Data["checksum-salt"])
			}
			delete(salted.Data, "checksum-salt")
			if dataChecksum(t, salted) == want {
				t.Fatal("the checksum does not cover the salt")
			}
			readers := podsReading(r, r.secrets[0].Name)
			if len(readers) != 3 { // the HomePage, the processor, and the dispatcher or the sink
				t.Fatalf("pods reading the Secret: %v", readers)
			}
			for owner, annotations := range readers {
				if got := annotations[checksumKey]; got != want {
					t.Errorf("%s: %s = %q, want the sha256 of the Secret's data %q", owner, checksumKey, got, want)
				}
			}
			// Another password: another checksum on every reader.
			other := decode(t, "defaults", mustRender(t, nil, append(set, "credentials.kafkaPassword=p2")))
			for owner, annotations := range podsReading(other, other.secrets[0].Name) {
				if annotations[checksumKey] == want {
					t.Errorf("%s: checksum unchanged after the password changed", owner)
				}
			}
		})
	}
	t.Run("generated token", func(t *testing.T) {
		r := decode(t, "defaults", mustRender(t, nil, nil))
		want := dataChecksum(t, r.secrets[0])
		if got := r.services["homepage"].Spec.Template.Annotations[checksumKey]; got != want {
			t.Errorf("homepage %s = %q, want %q: the Secret and the checksum drew different tokens", checksumKey, got, want)
		}
		if _, ok := r.services["processor"].Spec.Template.Annotations[checksumKey]; ok {
			t.Error("the processor reads nothing from the Secret but carries its checksum")
		}
	})
	t.Run("existing secret", func(t *testing.T) {
		for _, env := range []string{"staging", "prod", "ask"} {
			r := decode(t, env, mustRender(t, valueFiles(env), nil))
			for owner, annotations := range podsReading(r, "barrage-credentials") {
				if v, ok := annotations[checksumKey]; ok {
					t.Errorf("%s %s: %s %q with an existingSecret the chart cannot see", env, owner, checksumKey, v)
				}
			}
		}
	})
}

// dataChecksum is the sha256 of a Secret's data as the chart hashes it: the JSON object of
// its keys and base64 values.
func dataChecksum(t *testing.T, s *corev1.Secret) string {
	t.Helper()
	m := map[string]string{}
	for k, v := range s.Data {
		m[k] = base64.StdEncoding.EncodeToString(v)
	}
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:])
}

// podsReading returns the pod-template annotations of every workload whose env reads the
// Secret.
func podsReading(r rendered, secret string) map[string]map[string]string {
	out := map[string]map[string]string{}
	reads := func(env []corev1.EnvVar) bool {
		for _, e := range env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == secret {
				return true
			}
		}
		return false
	}
	for role, s := range r.services {
		if reads(s.Spec.Template.Spec.Containers[0].Env) {
			out["ksvc/"+role] = s.Spec.Template.Annotations
		}
	}
	for _, d := range r.deployments {
		if reads(d.Spec.Template.Spec.Containers[0].Env) {
			out["deployment/"+d.Name] = d.Spec.Template.Annotations
		}
	}
	return out
}
