package chartcheck

import (
	"context"
	"strings"
	"testing"

	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

const fakeDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestValueCombinations renders value combinations on top of the defaults and of the
// environments, each checked as a cluster would.
func TestValueCombinations(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		set   []string
		check func(t *testing.T, r rendered)
	}{
		{name: "eci homepage and fc processor", env: "defaults", set: []string{
			"homepage.workloadClass=eci", "homepage.eci.imageSnapshotId=imc-1", "homepage.eci.useSpecs=2-4Gi",
			"processor.workloadClass=fc", "processor.fc.roleArn=acs:ram::1:role/fc",
			"processor.image.repository=registry.cn-hangzhou.aliyuncs.com/ns/barrage",
		}, check: func(t *testing.T, r rendered) {
			wantClass(t, r, "homepage", "eci")
			wantClass(t, r, "processor", "fc")
			wantAnnotations(t, "homepage", r.services["homepage"].Spec.Template.Annotations,
				map[string]string{"k8s.aliyun.com/eci-use-specs": "2-4Gi"})
			if _, ok := r.services["processor"].Spec.Template.Annotations["fc.revision.serving.knative.aliyun.com/domain"]; ok {
				t.Error("an fc domain annotation without a domain")
			}
		}},
		{name: "ordered delivery stays selectable", env: "prod", set: []string{"eventDriver.kafkaSource.ordering=ordered"},
			check: func(t *testing.T, r rendered) { wantOrdering(t, r, "ordered") }},
		{name: "ask on plain Knative", env: "ask", set: []string{
			"homepage.workloadClass=plain", "processor.workloadClass=plain",
		}, check: func(t *testing.T, r rendered) {
			wantClass(t, r, "homepage", "plain")
			wantClass(t, r, "processor", "plain")
		}},
		{name: "dispatcher with a created secret", env: "defaults", set: []string{
			"eventDriver.type=dispatcher", "localKafka.enabled=false", "kafka.bootstrapServers=k1:9092\\,k2:9092",
			"kafka.sasl.enabled=true", "credentials.kafkaUser=u", "credentials.kafkaPassword=p",
			"store.tablestore.endpoint=https://x.ots.aliyuncs.com", "store.tablestore.instanceName=x",
			"credentials.otsKeyId=id", "credentials.otsSecret=s",
		}, check: func(t *testing.T, r rendered) {
			wantKafkaSources(t, r, 0)
			// Five credentials, the generated operator token of the load sender and the checksum salt.
			if len(r.secrets) != 1 || len(r.secrets[0].Data) != 7 {
				t.Fatalf("secrets %v, want one with seven keys", r.secrets)
			}
			if r.secrets[0].Name != "barrage-credentials" {
				t.Errorf("secret name %q", r.secrets[0].Name)
			}
		}},
		{name: "kafkaSource with sasl and tls from a created secret", env: "defaults", set: []string{
			"localKafka.enabled=false", "kafka.bootstrapServers=k1:9093", "kafka.sasl.enabled=true",
			"kafka.sasl.mechanism=SCRAM-SHA-512", "kafka.tls.enabled=true", "kafka.tls.caSecret.name=kafka-ca",
			"credentials.kafkaUser=u", "credentials.kafkaPassword=p",
		}, check: func(t *testing.T, r rendered) {
			wantKafkaSources(t, r, 1)
			n := r.kafkaSources[0].Spec.Net
			if n == nil || n.SASL == nil || !n.SASL.Enable || n.TLS == nil || !n.TLS.Enable || n.TLS.CACert.SecretKeyRef == nil {
				t.Fatalf("KafkaSource net %+v", n)
			}
			if got := string(r.secrets[0].Data["KAFKA_SASL_MECHANISM"]); got != "SCRAM-SHA-512" {
				t.Errorf("secret mechanism %q", got)
			}
		}},
		{name: "source without sasl while the homepage uses it", env: "staging", set: []string{
			"eventDriver.kafkaSource.sasl=disabled",
		}, check: func(t *testing.T, r rendered) {
			if r.kafkaSources[0].Spec.Net != nil {
				t.Errorf("KafkaSource net %+v, want none", r.kafkaSources[0].Spec.Net)
			}
			wantEnv(t, r.services["homepage"], "BARRAGE_KAFKA_SASL_MECHANISM", "PLAIN")
		}},
		{name: "KafkaSource v1 with a custom dead letter uri", env: "prod", set: []string{
			"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1",
			"eventDriver.kafkaSource.deadLetterSink.uri=http://dlq.example.svc/",
			"eventDriver.kafkaSource.aliyunAnnotations=false",
		}, check: func(t *testing.T, r rendered) {
			dls := r.kafkaSources[0].Spec.Delivery.DeadLetterSink
			if dls.Ref != nil || dls.URI.String() != "http://dlq.example.svc/" {
				t.Errorf("deadLetterSink %+v", dls)
			}
			if _, ok := r.kafkaSources[0].Annotations["k8s.aliyun.com/retry-count"]; ok {
				t.Error("Alibaba annotations rendered while switched off")
			}
		}},
		{name: "seed v1alpha1 KafkaSource", env: "ask", set: []string{
			"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1alpha1",
		}, check: func(t *testing.T, r rendered) {
			if len(r.alphaSources) != 1 {
				t.Fatalf("%d v1alpha1 sources", len(r.alphaSources))
			}
			// The decode is strict, so a delivery, ordering, initialOffset or SASL type
			// (none of which v1alpha1 has) would already have failed it.
			spec := r.alphaSources[0].Spec
			if spec.Topics != "barrage-info" || spec.BootstrapServers != "192.168.42.205:9092,192.168.42.204:9092,192.168.42.203:9092" {
				t.Errorf("v1alpha1 spec %+v, want the seed's comma-separated strings", spec)
			}
			if spec.Sink == nil || spec.Sink.Ref == nil || spec.Sink.Ref.Name != "test-barrage-process" {
				t.Errorf("v1alpha1 sink %+v, want the processor", spec.Sink)
			}
			wantAnnotations(t, "v1alpha1 KafkaSource", r.alphaSources[0].Annotations, map[string]string{
				"k8s.aliyun.com/retry-count": "5", "k8s.aliyun.com/retry-interval": "2", "k8s.aliyun.com/req-timeout": "60",
			})
			if d := deadLetterDeployment(r); d != nil {
				t.Errorf("dead-letter sink %s deployed, but a v1alpha1 KafkaSource cannot send to it", d.Name)
			}
		}},
		{name: "v1alpha1 KafkaSource with SASL PLAIN", env: "staging", set: []string{
			"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1alpha1",
		}, check: func(t *testing.T, r rendered) {
			n := r.alphaSources[0].Spec.Net
			if n == nil || n.SASL == nil || !n.SASL.Enable || n.SASL.User.SecretKeyRef == nil || n.SASL.Password.SecretKeyRef == nil {
				t.Errorf("v1alpha1 net %+v, want SASL from the Secret", n)
			}
		}},
		{name: "images by digest and tag per role", env: "defaults", set: []string{
			"homepage.image.digest=" + fakeDigest, "processor.image.repository=registry.example.com/barrage",
			"processor.image.tag=v9", "eventDriver.type=dispatcher", "eventDriver.dispatcher.image.tag=v8",
		}, check: func(t *testing.T, r rendered) {
			if got := r.services["homepage"].Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/barrage-live/barrage@"+fakeDigest {
				t.Errorf("homepage image %q", got)
			}
			if got := r.services["processor"].Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/barrage:v9" {
				t.Errorf("processor image %q", got)
			}
			if got := r.deployments[0].Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/barrage-live/barrage:v8" {
				t.Errorf("dispatcher image %q", got)
			}
		}},
		{name: "autoscaling target and limits", env: "defaults", set: []string{
			"processor.autoscaling.target=2", "processor.autoscaling.minScale=1", "processor.containerConcurrency=1000",
			"homepage.timeoutSeconds=30",
		}, check: func(t *testing.T, r rendered) {
			wantAnnotations(t, "processor", r.services["processor"].Spec.Template.Annotations, map[string]string{
				"autoscaling.knative.dev/target": "2", "autoscaling.knative.dev/min-scale": "1",
			})
		}},
		{name: "service account, tracing, words and origins", env: "dev", set: []string{
			"serviceAccount.create=true", "tracing.url=http://otel:4318/v1/traces",
			"processor.sensitiveWords={a,b}", "homepage.allowedOrigins={https://x.example}",
			"homepage.extraEnv[0].name=BARRAGE_CLIENT_IP_HEADER", "homepage.extraEnv[0].value=X-Forwarded-For",
		}, check: func(t *testing.T, r rendered) {
			wantEnv(t, r.services["processor"], "BARRAGE_SENSITIVE_WORDS", "a,b")
			wantEnv(t, r.services["homepage"], "BARRAGE_ALLOWED_ORIGINS", "https://x.example")
			wantEnv(t, r.services["homepage"], "TRACING", "http://otel:4318/v1/traces")
			wantEnv(t, r.services["homepage"], "BARRAGE_CLIENT_IP_HEADER", "X-Forwarded-For")
			if sa := r.services["homepage"].Spec.Template.Spec.ServiceAccountName; sa != "barrage" {
				t.Errorf("serviceAccountName %q", sa)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, tt.env, mustRender(t, valueFiles(tt.env), tt.set))
			checkInvariants(t, r)
			tt.check(t, r)
		})
	}
}

// TestBadValues checks that mistakes fail the render with a message that names them.
func TestBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  string
		set  []string
		want string
	}{
		{"wrong workload class", "defaults", []string{"homepage.workloadClass=lambda"},
			"at '/homepage/workloadClass': value must be one of 'plain', 'fc', 'eci'"},
		{"negative concurrency", "defaults", []string{"processor.containerConcurrency=-1"},
			"at '/processor/containerConcurrency': minimum: got -1, want 0"},
		{"concurrency over Knative's limit", "defaults", []string{"processor.containerConcurrency=1001"},
			"at '/processor/containerConcurrency': maximum: got 1,001, want 1,000"},
		{"unknown key", "defaults", []string{"homepage.replicas=2"},
			"at '/homepage': additional properties 'replicas' not allowed"},
		{"misspelt top-level key", "ask", []string{"proccessor.name=x"},
			"additional properties 'proccessor' not allowed"},
		{"missing secret name for Kafka SASL", "defaults", []string{"kafka.sasl.enabled=true"},
			"credentials: Kafka SASL needs a secret name"},
		{"missing secret name for the source's SASL", "defaults", []string{"eventDriver.kafkaSource.sasl=enabled"},
			"credentials: Kafka SASL needs a secret name"},
		{"missing secret name for Tablestore", "defaults", []string{
			"store.tablestore.endpoint=https://x.ots.aliyuncs.com", "store.tablestore.instanceName=x"},
			"credentials: Tablestore needs a secret name"},
		{"half a Tablestore key", "defaults", []string{
			"store.tablestore.endpoint=https://x.ots.aliyuncs.com", "store.tablestore.instanceName=x", "credentials.otsKeyId=id"},
			"credentials: Tablestore needs a secret name"},
		{"existing secret and values", "staging", []string{"credentials.kafkaPassword=p"},
			"credentials: existingSecret is set"},
		{"Tablestore without instance", "defaults", []string{"store.tablestore.endpoint=https://x.ots.aliyuncs.com"},
			"store.tablestore.instanceName is required"},
		{"min scale above max scale", "ask", []string{"processor.autoscaling.minScale=101"},
			"processor.autoscaling.minScale (101) is above maxScale (100)"},
		{"fc without a role", "defaults", []string{"processor.workloadClass=fc"},
			"processor.fc.roleArn is required when processor.workloadClass is fc"},
		{"a credential as plain env", "dev", []string{"homepage.extraEnv[0].name=OTS_SECRET", "homepage.extraEnv[0].value=x"},
			"homepage.extraEnv must not set OTS_SECRET"},
		{"no brokers", "defaults", []string{"localKafka.enabled=false"},
			"kafka.bootstrapServers: set the Kafka brokers"},
		{"bad digest", "defaults", []string{"processor.image.digest=latest"},
			"at '/processor/image/digest'"},
		{"a dead-letter sink with no pods", "defaults", []string{"eventDriver.kafkaSource.deadLetterSink.replicas=0"},
			"at '/eventDriver/kafkaSource/deadLetterSink/replicas': minimum: got 0, want 1"},
		{"a credential as the sink's plain env", "defaults", []string{"eventDriver.kafkaSource.deadLetterSink.extraEnv[0].name=KAFKA_PWD",
			"eventDriver.kafkaSource.deadLetterSink.extraEnv[0].value=x"}, "eventDriver.kafkaSource.deadLetterSink.extraEnv must not set KAFKA_PWD"},
		{"half a dead letter ref", "defaults", []string{"eventDriver.kafkaSource.deadLetterSink.ref.name=x"},
			"missing properties 'apiVersion', 'kind'"},
		{"unknown event driver", "defaults", []string{"eventDriver.type=broker"},
			"at '/eventDriver/type': value must be one of 'kafkaSource', 'dispatcher'"},
		{"unknown KafkaSource version", "defaults", []string{"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v2"},
			"at '/eventDriver/kafkaSource/apiVersion'"},
		{"retention not a duration", "defaults", []string{"store.retention=a week"},
			"at '/store/retention'"},
		{"env value not a string", "defaults", []string{"processor.extraEnv[0].name=BARRAGE_RATE_LIMIT", "processor.extraEnv[0].value=5"},
			"at '/processor/extraEnv/0/value': got number, want string"},
		{"bundled kafka typo", "dev", []string{"localKafka.partition=3"},
			"additional properties 'partition' not allowed"},
		{"retention under the app's floor", "defaults", []string{"store.retention=30m"},
			`store.retention must be at least 1h, not "30m"`},
		{"fractional send rate", "defaults", []string{"homepage.limits.sendsPerSecond=1.5"},
			"at '/homepage/limits/sendsPerSecond': got string, want integer"},
		{"load concurrency over the app's limit", "defaults", []string{"homepage.loadSender.maxConcurrency=1025"},
			"at '/homepage/loadSender/maxConcurrency': maximum: got 1,025, want 1,024"},
		{"a zero-length load run", "defaults", []string{"homepage.loadSender.maxDuration=0s"},
			`homepage.loadSender.maxDuration must be at least 1ns, not "0s"`},
		{"v1alpha1 with a dead-letter sink", "defaults", []string{"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1alpha1",
			"eventDriver.kafkaSource.deadLetterSink.uri=http://dlq.example/"},
			"eventDriver.kafkaSource.deadLetterSink: a v1alpha1 KafkaSource has no delivery"},
		{"v1alpha1 with SCRAM", "staging", []string{"eventDriver.kafkaSource.apiVersion=sources.knative.dev/v1alpha1",
			"kafka.sasl.mechanism=SCRAM-SHA-512"}, "a v1alpha1 KafkaSource speaks SASL PLAIN only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(valueFiles(tt.env), tt.set)
			if err == nil {
				t.Fatalf("rendered with %v; want an error with %q", tt.set, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

// TestKnativeValidationBites shows the webhook's check is live: the downward API the ASK
// seed uses is refused by a cluster without Knative's podspec-fieldref feature.
func TestKnativeValidationBites(t *testing.T) {
	docs := mustRender(t, valueFiles("ask"), nil)
	for _, d := range docs {
		if d.kind != "Service" || d.apiVersion != "serving.knative.dev/v1" {
			continue
		}
		var svc servingv1.Service
		if err := decodeStrict(d.raw, &svc); err != nil {
			t.Fatal(err)
		}
		ctx := apis.WithinCreate(context.Background())
		svc.SetDefaults(ctx)
		err := svc.Validate(ctx).Filter(apis.ErrorLevel)
		if err == nil || !strings.Contains(err.Error(), "valueFrom.fieldRef") {
			t.Errorf("%s validated on upstream defaults with fieldRef env: %v", svc.Name, err)
		}
	}
}

// TestKafkaSourceDecodeIsStrict shows the v1beta1 decode catches a misplaced field, the way
// the API server's strict field validation does.
func TestKafkaSourceDecodeIsStrict(t *testing.T) {
	for _, d := range mustRender(t, valueFiles("ask"), nil) {
		if d.kind != "KafkaSource" {
			continue
		}
		var ks KafkaSource
		if err := decodeStrict(d.raw, &ks); err != nil {
			t.Fatalf("the rendered KafkaSource does not decode: %v", err)
		}
		bad := strings.Replace(string(d.raw), "  consumerGroup:", "  consumergroup:", 1)
		err := decodeStrict([]byte(bad), &ks)
		if err == nil || !strings.Contains(err.Error(), `unknown field "spec.consumergroup"`) {
			t.Fatalf("a misspelt field decoded: %v", err)
		}
		return
	}
	t.Fatal("ask renders no KafkaSource")
}

// TestNotes checks the text helm prints after an install names what was installed and warns
// about the per-pod store.
func TestNotes(t *testing.T) {
	tests := []struct {
		env        string
		want, omit []string
	}{
		{"defaults", []string{"get ksvc barrage-homepage", "get kafkasource barrage", "WARNING: no store.tablestore.endpoint", "barrage-kafka"}, nil},
		{"dev", []string{"deployment/barrage-dispatcher", "barrage-info-dead-letter"}, []string{"WARNING"}},
		{"ask", []string{"HomePage (fc)", "Processor (eci)", "get ksvc demo-barrage", "consumer group barrage-info-consumer, topic barrage-info"}, []string{"WARNING", "barrage-kafka"}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			rel, err := dryRunInstall(valueFiles(tt.env), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(rel.Info.Notes, w) {
					t.Errorf("notes lack %q:\n%s", w, rel.Info.Notes)
				}
			}
			for _, o := range tt.omit {
				if strings.Contains(rel.Info.Notes, o) {
					t.Errorf("notes contain %q:\n%s", o, rel.Info.Notes)
				}
			}
		})
	}
}
