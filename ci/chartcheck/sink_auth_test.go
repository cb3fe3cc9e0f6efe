package chartcheck

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	processorAudience = "serving.knative.dev/service/barrage/barrage-processor"
	chartSinkAudience = "http://barrage-deadletter.barrage.svc.cluster.local" // the chart's dead-letter sink
)

// TestSinkAuthValues renders eventDriver.oidc on and off; checkInvariants (checkOIDC)
// already holds the source's audience and the processor's check together.
func TestSinkAuthValues(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		set      []string
		sink     string // "" means no audience
		deadSink string
	}{
		{name: "off", env: "defaults"},
		{name: "on", env: "defaults", set: []string{"eventDriver.oidc.enabled=true"},
			sink: processorAudience, deadSink: chartSinkAudience},
		{name: "on with the seed's names", env: "ask", set: []string{"eventDriver.oidc.enabled=true"},
			sink: "serving.knative.dev/service/barrage/test-barrage-process", deadSink: chartSinkAudience},
		{name: "on with an audience of our own", env: "staging", set: []string{"eventDriver.oidc.enabled=true", "eventDriver.oidc.audience=barrage-processor"},
			sink: "barrage-processor", deadSink: chartSinkAudience},
		{name: "on with a KafkaSource v1 and a dead letter sink of our own", env: "prod", set: []string{
			"eventDriver.oidc.enabled=true", "eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1",
			"eventDriver.kafkaSource.deadLetterSink.uri=http://dead-letters.barrage.svc.cluster.local/",
			"eventDriver.kafkaSource.deadLetterSink.audience=barrage-dead-letters",
		}, sink: processorAudience, deadSink: "barrage-dead-letters"},
		{name: "a dead letter audience is not rendered with OIDC off", env: "prod", set: []string{
			"eventDriver.kafkaSource.deadLetterSink.uri=http://dead-letters.barrage.svc.cluster.local/",
			"eventDriver.kafkaSource.deadLetterSink.audience=barrage-dead-letters",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, tt.env, mustRender(t, valueFiles(tt.env), tt.set))
			checkInvariants(t, r)
			wantKafkaSources(t, r, 1)
			s := r.kafkaSources[0].Spec
			if got := deref(s.Sink.Audience); got != tt.sink {
				t.Errorf("sink.audience %q, want %q", got, tt.sink)
			}
			if got := deref(s.Delivery.DeadLetterSink.Audience); got != tt.deadSink {
				t.Errorf("deadLetterSink.audience %q, want %q", got, tt.deadSink)
			}
			env := envMap(r.services["processor"].Spec.Template.Spec.Containers[0].Env)
			if env["BARRAGE_OIDC_AUDIENCE"] != tt.sink {
				t.Errorf("processor BARRAGE_OIDC_AUDIENCE %q, want %q", env["BARRAGE_OIDC_AUDIENCE"], tt.sink)
			}
			if tt.sink != "" && (env["BARRAGE_OIDC_ISSUER"] != "https://kubernetes.default.svc" ||
				env["BARRAGE_OIDC_JWKS_URL"] != "https://kubernetes.default.svc/openid/v1/jwks") {
				t.Errorf("processor issuer %q, JWKS %q", env["BARRAGE_OIDC_ISSUER"], env["BARRAGE_OIDC_JWKS_URL"])
			}
		})
	}
}

// TestSinkAuthSubjects: the senders named in eventDriver.oidc.subjects reach both sinks'
// verifiers, and with OIDC off nobody is told of them.
func TestSinkAuthSubjects(t *testing.T) {
	subs := "{system:serviceaccount:barrage:src-a,system:serviceaccount:barrage:src-b}"
	want := "system:serviceaccount:barrage:src-a,system:serviceaccount:barrage:src-b"
	for _, on := range []bool{true, false} {
		set := []string{"eventDriver.oidc.subjects=" + subs}
		if on {
			set = append(set, "eventDriver.oidc.enabled=true")
		}
		r := decode(t, "prod", mustRender(t, valueFiles("prod"), set))
		expect := map[bool]string{true: want}[on]
		if got := envMap(r.services["processor"].Spec.Template.Spec.Containers[0].Env)["BARRAGE_OIDC_SUBJECTS"]; got != expect {
			t.Errorf("OIDC %v: processor BARRAGE_OIDC_SUBJECTS %q, want %q", on, got, expect)
		}
		found := false
		for _, d := range r.deployments {
			if c := d.Spec.Template.Spec.Containers[0]; len(c.Args) > 0 && c.Args[0] == "deadletter" {
				found = true
				if got := envMap(c.Env)["BARRAGE_OIDC_SUBJECTS"]; got != expect {
					t.Errorf("OIDC %v: dead-letter sink BARRAGE_OIDC_SUBJECTS %q, want %q", on, got, expect)
				}
			}
		}
		if !found {
			t.Fatal("prod renders no dead-letter sink")
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestProcessorVisibility: every environment keeps the processor cluster-local (checkOIDC
// in TestEnvironments renders them); a user who asks for public gets no label.
func TestProcessorVisibility(t *testing.T) {
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			files := valueFiles(env)
			if env == "defaults" {
				files = []string{filepath.Join(chartDir, "values.yaml")}
			}
			vals, err := mergeValues(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := vals["processor"].(map[string]any)["visibility"]; got != "cluster-local" {
				t.Errorf("processor.visibility %v, want cluster-local", got)
			}
		})
	}
	t.Run("public on request", func(t *testing.T) {
		r := decode(t, "defaults", mustRender(t, nil, []string{"processor.visibility=public"}))
		if got, ok := r.services["processor"].Labels[visibilityLabel]; ok {
			t.Errorf("public processor has %s=%q", visibilityLabel, got)
		}
	})
}

// TestSinkAuthBadValues: combinations that would silently break delivery fail the render.
func TestSinkAuthBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  string
		set  []string
		want string
	}{
		{"OIDC with the seed's v1alpha1", "ask", []string{"eventDriver.oidc.enabled=true", "eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1alpha1"},
			"a v1alpha1 KafkaSource has no sink.audience"},
		{"OIDC with the dispatcher", "dev", []string{"eventDriver.oidc.enabled=true"},
			"the dispatcher sends no token"},
		{"unknown visibility", "defaults", []string{"processor.visibility=internal"},
			"at '/processor/visibility': value must be one of 'cluster-local', 'public'"},
		{"plain-http JWKS", "defaults", []string{"eventDriver.oidc.jwksUrl=http://kubernetes.default.svc/openid/v1/jwks"},
			"at '/eventDriver/oidc/jwksUrl'"},
		{"short admin token", "defaults", []string{"credentials.adminToken=secret"},
			"at '/credentials/adminToken'"},
		{"admin token with an existing secret", "dev", []string{"credentials.adminToken=" + strings.Repeat("x", 32)},
			"credentials: existingSecret is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(valueFiles(tt.env), tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant one with %q", err, tt.want)
			}
		})
	}
}

var alnum32 = regexp.MustCompile(`^[A-Za-z0-9]{32,}$`)

// TestAdminToken: the load sender's operator token comes from the credentials Secret; the
// chart draws one when none is given. Keeping it across upgrades needs a cluster for
// `lookup` and is checked by ci/kube-check.
func TestAdminToken(t *testing.T) {
	token := func(t *testing.T, r rendered, key string) string {
		t.Helper()
		if len(r.secrets) != 1 {
			t.Fatalf("%d Secrets, want the chart's own", len(r.secrets))
		}
		return string(r.secrets[0].Data[key])
	}
	wantRef := func(t *testing.T, r rendered, name, key string) {
		t.Helper()
		ref := secretRef(r.services["homepage"].Spec.Template.Spec.Containers[0].Env, "BARRAGE_ADMIN_TOKEN")
		if ref == nil || ref.Name != name || ref.Key != key {
			t.Fatalf("BARRAGE_ADMIN_TOKEN from %+v, want %s/%s", ref, name, key)
		}
	}
	t.Run("generated", func(t *testing.T) {
		first := decode(t, "defaults", mustRender(t, nil, nil))
		checkInvariants(t, first)
		wantRef(t, first, "barrage-credentials", "BARRAGE_ADMIN_TOKEN")
		a := token(t, first, "BARRAGE_ADMIN_TOKEN")
		if !alnum32.MatchString(a) {
			t.Fatalf("generated token %q is not 32+ letters and digits", a)
		}
		b := token(t, decode(t, "defaults", mustRender(t, nil, nil)), "BARRAGE_ADMIN_TOKEN")
		if a == b {
			t.Error("two installs drew the same token")
		}
	})
	t.Run("given", func(t *testing.T) {
		given := "given-" + strings.Repeat("0123456789", 4)
		r := decode(t, "defaults", mustRender(t, nil, []string{"credentials.adminToken=" + given, "credentials.keys.adminToken=OPERATOR"}))
		checkInvariants(t, r)
		wantRef(t, r, "barrage-credentials", "OPERATOR")
		if got := token(t, r, "OPERATOR"); got != given {
			t.Errorf("token %q, want the given one", got)
		}
	})
	t.Run("existing secret", func(t *testing.T) {
		r := decode(t, "staging", mustRender(t, valueFiles("staging"), []string{"credentials.keys.adminToken=operator-token"}))
		checkInvariants(t, r)
		if len(r.secrets) != 0 {
			t.Errorf("the chart made a Secret beside existingSecret: %v", r.secrets)
		}
		wantRef(t, r, "barrage-credentials", "operator-token")
	})
	t.Run("load sender off", func(t *testing.T) {
		r := decode(t, "defaults", mustRender(t, nil, []string{"homepage.loadSender.enabled=false"}))
		checkInvariants(t, r)
		if len(r.secrets) != 0 {
			t.Errorf("a Secret with nothing to hold: %v", r.secrets)
		}
	})
}

// TestNotesAdminToken: the install notes say how to read the token, and whether the
// processor is reachable from outside.
func TestNotesAdminToken(t *testing.T) {
	rel, err := dryRunInstall(nil, []string{"eventDriver.oidc.enabled=true"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"kubectl -n barrage get secret barrage-credentials -o jsonpath='{.data.BARRAGE_ADMIN_TOKEN}' | base64 -d",
		"The processor is cluster-local", "audience " + processorAudience,
	} {
		if !strings.Contains(rel.Info.Notes, w) {
			t.Errorf("notes lack %q:\n%s", w, rel.Info.Notes)
		}
	}
	rel, err = dryRunInstall(valueFiles("prod"), []string{"processor.visibility=public"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rel.Info.Notes, "PUBLIC") || strings.Contains(rel.Info.Notes, "BARRAGE_ADMIN_TOKEN") {
		t.Errorf("prod notes with a public processor:\n%s", rel.Info.Notes)
	}
}
