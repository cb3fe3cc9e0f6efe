package chartcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	appconfig "github.com/barrage-live/barrage/internal/config"
)

// valueRow says where one chart value ends up: the env var a role reads it as, with the
// values to feed both the chart and the app, or why it reaches no app's env at all.
type valueRow struct {
	path   string   // dotted value path; a trailing ".*" covers every value below it
	role   string   // homepage, processor, dispatcher or deadletter
	env    string   // the env var; empty when the value reaches no app
	base   []string // --set values the role needs for env to be rendered at all
	probes []any    // values to give both sides, typed as a values file types them
	text   string   // how the env spells a probe the chart refuses: fmt verb, default %v
	why    string   // where a value without env goes instead
}

// ints are the edges of a whole-number range, plus a fraction the app cannot parse.
func ints(lo, hi float64) []any {
	return []any{lo - 1, lo, lo + 1, lo + 0.5, hi - 1, hi, hi + 1}
}

var (
	sasl       = []string{"kafka.sasl.enabled=true", "credentials.kafkaUser=u", "credentials.kafkaPassword=p"}
	tablestore = []string{"store.tablestore.endpoint=https://x.ots.aliyuncs.com", "store.tablestore.instanceName=x",
		"credentials.otsKeyId=id", "credentials.otsSecret=s"}
	dispatcher = []string{"eventDriver.type=dispatcher"}
	oidc       = []string{"eventDriver.oidc.enabled=true"}
	// Durations as the app's parser reads them: Go's time.ParseDuration forms and seconds.
	durationForms = []any{"1h", "60m", "3600s", "3600", "+1h", "1.5h", "1h30m", "90m", ".5h", "1.h",
		"59m59s", "59m59.999999999s", "3599", "0.5h", "-1h", "1H", "1 h", "1e3h", "1h-1s", ".", "h",
		"2562047h", "2562048h", "100ms", "0.1s", "99ms", "0.0999999999s", "100000us", "100000\u00b5s",
		"100000\u03bcs", "99999us", "0", "0s", "1ns", "-1s", "+0s"}
)

// valueTable maps every value in values.schema.json; TestSchemaMatchesConfig fails on a
// value without a row.
var valueTable = []valueRow{
	{path: "global", why: "subchart convention, unused"},
	{path: "nameOverride", why: "resource names"},
	{path: "fullnameOverride", why: "resource names"},
	{path: "commonLabels", why: "labels"},
	{path: "imagePullSecrets", why: "pod specs"},
	{path: "serviceAccount.*", why: "pod specs"},
	{path: "logLevel", role: "homepage", env: "BARRAGE_LOG_LEVEL", probes: []any{"debug", "error", "verbose"}},
	{path: "podFieldRef", role: "homepage", env: "POD_NAME", base: []string{"podFieldRef=true"}},
	{path: "tracing.url", role: "homepage", env: "TRACING", base: []string{"tracing.url=http://otel:4318/v1/traces"}, probes: []any{"", "http://otel:4318/v1/traces",
		"http://tracing-analysis-dc-sh.aliyuncs.com/adapt_a@b_c@d/api/traces", "http://", "https:///v1/traces"}},
	{path: "tracing.secret.name", role: "processor", env: "TRACING", base: []string{"tracing.secret.name=tracing"}},
	{path: "tracing.secret.key", role: "dispatcher", env: "TRACING", base: append([]string{"tracing.secret.name=tracing"}, dispatcher...)},
	{path: "metrics.port", role: "homepage", env: "BARRAGE_METRICS_PORT", probes: []any{-1.0, 1.0, 8080.0, 9464.5, 65535.0, 65536.0}},
	{path: "metrics.scrapeAnnotations", why: "pod annotations"},
	{path: "credentials.existingSecret", why: "the Secret every secretKeyRef names"},
	{path: "credentials.keys.*", why: "the keys every secretKeyRef names"},
	{path: "credentials.otsKeyId", role: "processor", env: "OTS_KEYID", base: tablestore},
	{path: "credentials.otsSecret", role: "processor", env: "OTS_SECRET", base: tablestore},
	{path: "credentials.kafkaUser", role: "homepage", env: "KAFKA_USER", base: sasl},
	{path: "credentials.kafkaPassword", role: "deadletter", env: "KAFKA_PWD", base: sasl},
	{path: "credentials.adminToken", role: "homepage", env: "BARRAGE_ADMIN_TOKEN", probes: []any{"",
		strings.Repeat("t", appconfig.MinAdminTokenLen-1), strings.Repeat("t", appconfig.MinAdminTokenLen),
		strings.Repeat("t", appconfig.MinAdminTokenLen) + " ", strings.Repeat("t", appconfig.MinAdminTokenLen) + "\n"}},
	{path: "store.tablestore.endpoint", role: "processor", env: "OTS_ENDPOINT", base: tablestore,
		probes: []any{"https://x.cn-hangzhou.ots.aliyuncs.com", "https://", "http://x"}},
	{path: "store.tablestore.instanceName", role: "processor", env: "OTS_INSTANCENAME", base: tablestore},
	{path: "store.tablestore.table", role: "processor", env: "TABLE_NAME", base: tablestore},
	{path: "store.retention", role: "processor", env: "BARRAGE_RETENTION", probes: durationForms},
	{path: "kafka.bootstrapServers", role: "homepage", env: "KAFKA_SERVER", probes: []any{"k1:9092,k2:9092"}},
	{path: "kafka.topic", role: "homepage", env: "KAFKA_TOPIC"},
	{path: "kafka.noticeTopic", role: "processor", env: "BARRAGE_NOTICE_TOPIC", probes: []any{"barrage-stored", "barrage-info"}},
	{path: "kafka.sasl.enabled", role: "homepage", env: "BARRAGE_KAFKA_SASL_MECHANISM", base: sasl},
	{path: "kafka.sasl.mechanism", role: "homepage", env: "BARRAGE_KAFKA_SASL_MECHANISM", base: sasl,
		probes: []any{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI"}},
	{path: "kafka.tls.enabled", role: "homepage", env: "BARRAGE_KAFKA_TLS", probes: []any{true, false}},
	{path: "kafka.tls.caSecret.*", why: "a mounted file, named by BARRAGE_KAFKA_CA_FILE and the KafkaSource's net.tls.caCert (TestKafkaCAReachesEveryKafkaClient)"},
	{path: "localKafka.enabled", why: "deploys the bundled broker, which kafka.bootstrapServers then defaults to"},

	{path: "homepage.name", why: "resource names"},
	{path: "homepage.workloadClass", why: "annotations"},
	{path: "homepage.fc.*", why: "annotations"},
	{path: "homepage.eci.*", why: "annotations"},
	{path: "homepage.image.*", why: "the container image"},
	{path: "homepage.autoscaling.*", why: "Knative annotations"},
	{path: "homepage.containerConcurrency", why: "the Knative revision"},
	{path: "homepage.timeoutSeconds", why: "the Knative revision"},
	{path: "homepage.resources.*", why: "the container's resources"},
	{path: "homepage.annotations", why: "annotations"},
	{path: "homepage.podAnnotations", why: "annotations"},
	{path: "homepage.podLabels", why: "labels"},
	{path: "homepage.extraEnv", why: "env as written"},
	{path: "homepage.loadSender.enabled", role: "homepage", env: "BARRAGE_LOAD_SENDER", probes: []any{true, false}},
	{path: "homepage.loadSender.maxConcurrency", role: "homepage", env: "BARRAGE_LOAD_MAX_CONCURRENCY", probes: ints(1, 1024)},
	{path: "homepage.loadSender.maxDuration", role: "homepage", env: "BARRAGE_LOAD_MAX_DURATION", probes: durationForms},
	{path: "homepage.allowedOrigins", role: "homepage", env: "BARRAGE_ALLOWED_ORIGINS", base: []string{"homepage.allowedOrigins={https://x.example}"}},
	{path: "homepage.limits.sendsPerSecond", role: "homepage", env: "BARRAGE_RATE_LIMIT", probes: ints(0, 1e6)},
	{path: "homepage.limits.sendBurst", role: "homepage", env: "BARRAGE_RATE_BURST", probes: ints(1, 1e6)},
	{path: "homepage.limits.streamsPerClient", role: "homepage", env: "BARRAGE_MAX_STREAMS_PER_CLIENT", probes: ints(0, 1e6)},
	{path: "homepage.limits.viewersPerRoom", role: "homepage", env: "BARRAGE_MAX_VIEWERS_PER_ROOM", probes: ints(1, 1e7)},
	{path: "homepage.limits.clientIPHeader", role: "homepage", env: "BARRAGE_CLIENT_IP_HEADER",
		probes: []any{"X-Forwarded-For", "X-Real-IP", "", "X Forwarded", "X_Forwarded"}},
	{path: "homepage.limits.trustedProxies", role: "homepage", env: "BARRAGE_TRUSTED_PROXIES", base: []string{"homepage.limits.trustedProxies={10.0.0.0/8}"},
		probes: []any{[]any{"10.0.0.0/8", "192.168.1.1"}, []any{"fd00::/8"}, []any{"not-an-address"}}},
	{path: "homepage.limits.streamOpensPerSecond", role: "homepage", env: "BARRAGE_STREAM_OPENS_PER_SECOND",
		probes: []any{-0.5, 0.0, 0.5, 2.0, 999999.5, 1e6, 1e6 + 0.5}},
	{path: "homepage.limits.streamOpenBurst", role: "homepage", env: "BARRAGE_STREAM_OPEN_BURST", probes: ints(1, 1e6)},
	{path: "homepage.limits.maxClients", role: "homepage", env: "BARRAGE_MAX_CLIENTS", probes: ints(1, 1e7)},
	{path: "homepage.limits.maxRooms", role: "homepage", env: "BARRAGE_MAX_ROOMS", probes: ints(1, 1e6)},
	{path: "homepage.limits.readTimeout", role: "homepage", env: "BARRAGE_READ_TIMEOUT", probes: durationForms},

	{path: "processor.name", why: "resource names"},
	{path: "processor.visibility", why: "labels"},
	{path: "processor.workloadClass", why: "annotations"},
	{path: "processor.fc.*", why: "annotations"},
	{path: "processor.eci.*", why: "annotations"},
	{path: "processor.image.*", why: "the container image"},
	{path: "processor.autoscaling.*", why: "Knative annotations"},
	{path: "processor.containerConcurrency", why: "the Knative revision"},
	{path: "processor.timeoutSeconds", why: "the Knative revision"},
	{path: "processor.resources.*", why: "the container's resources"},
	{path: "processor.annotations", why: "annotations"},
	{path: "processor.podAnnotations", why: "annotations"},
	{path: "processor.podLabels", why: "labels"},
	{path: "processor.extraEnv", why: "env as written"},
	{path: "processor.sensitiveWords", role: "processor", env: "BARRAGE_SENSITIVE_WORDS", base: []string{"processor.sensitiveWords={a}"}},

	{path: "eventDriver.type", why: "which driver is rendered"},
	{path: "eventDriver.consumerGroup", role: "dispatcher", env: "BARRAGE_CONSUMER_GROUP", base: dispatcher},
	{path: "eventDriver.initialOffset", role: "dispatcher", env: "BARRAGE_INITIAL_OFFSET", base: dispatcher,
		probes: []any{"earliest", "latest", "newest"}},
	{path: "eventDriver.retry", role: "dispatcher", env: "BARRAGE_RETRY_COUNT", base: dispatcher, probes: ints(0, 100)},
	{path: "eventDriver.backoffPolicy", role: "dispatcher", env: "BARRAGE_BACKOFF_POLICY", base: dispatcher,
		probes: []any{"exponential", "linear", "constant"}},
	{path: "eventDriver.retryIntervalSeconds", role: "dispatcher", env: "BARRAGE_RETRY_INTERVAL", base: dispatcher,
		probes: []any{-1.0, 0.0, 1.0, 59.0, 60.0, 61.0}, text: "%vs"},
	{path: "eventDriver.requestTimeoutSeconds", role: "dispatcher", env: "BARRAGE_REQUEST_TIMEOUT", base: dispatcher,
		probes: []any{0.0, 1.0, 2.0, 3600.0}, text: "%vs"},
	{path: "eventDriver.oidc.enabled", role: "processor", env: "BARRAGE_OIDC_AUDIENCE", base: oidc},
	{path: "eventDriver.oidc.audience", role: "processor", env: "BARRAGE_OIDC_AUDIENCE", base: oidc},
	{path: "eventDriver.oidc.issuer", role: "processor", env: "BARRAGE_OIDC_ISSUER", base: oidc,
		probes: []any{"https://kubernetes.default.svc", "https://"}},
	{path: "eventDriver.oidc.subjects", role: "deadletter", env: "BARRAGE_OIDC_SUBJECTS",
		base: []string{"eventDriver.oidc.enabled=true", "eventDriver.oidc.subjects={system:serviceaccount:ns:src}"},
		probes: []any{[]any{"system:serviceaccount:ns:src"}, []any{"system:serviceaccount:ns:a", "system:serviceaccount:ns:b.c"},
			[]any{"admin"}, []any{"system:serviceaccount:NS:x"}, []any{"system:serviceaccount:ns:"}}},
	{path: "eventDriver.oidc.jwksUrl", role: "deadletter", env: "BARRAGE_OIDC_JWKS_URL", base: oidc,
		probes: []any{"https://kubernetes.default.svc/openid/v1/jwks", "http://kubernetes.default.svc/openid/v1/jwks"}},
	{path: "eventDriver.kafkaSource.name", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.apiVersion", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.bootstrapServers", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.sasl", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.tls", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.ordering", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.aliyunAnnotations", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.deliveryTimeout", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.annotations", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.deadLetterSink.uri", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.deadLetterSink.ref.*", why: "the KafkaSource"},
	{path: "eventDriver.kafkaSource.deadLetterSink.replicas", why: "the sink's Deployment"},
	{path: "eventDriver.kafkaSource.deadLetterSink.image.*", why: "the container image"},
	{path: "eventDriver.kafkaSource.deadLetterSink.resources.*", why: "the container's resources"},
	{path: "eventDriver.kafkaSource.deadLetterSink.podAnnotations", why: "annotations"},
	{path: "eventDriver.kafkaSource.deadLetterSink.extraEnv", why: "env as written"},
	{path: "eventDriver.kafkaSource.deadLetterSink.topic", role: "deadletter", env: "BARRAGE_DEAD_LETTER_TOPIC"},
	{path: "eventDriver.kafkaSource.deadLetterSink.audience", role: "deadletter", env: "BARRAGE_OIDC_AUDIENCE", base: oidc},
	{path: "eventDriver.dispatcher.replicas", why: "the dispatcher's Deployment"},
	{path: "eventDriver.dispatcher.deadLetterTopic", role: "dispatcher", env: "BARRAGE_DEAD_LETTER_TOPIC", base: dispatcher},
	{path: "eventDriver.dispatcher.image.*", why: "the container image"},
	{path: "eventDriver.dispatcher.resources.*", why: "the container's resources"},
	{path: "eventDriver.dispatcher.podAnnotations", why: "annotations"},
	{path: "eventDriver.dispatcher.extraEnv", why: "env as written"},
	{path: "tests.image.*", why: "the helm test pod"},
}

var roles = map[string]appconfig.Role{
	"homepage": appconfig.RoleHomePage, "processor": appconfig.RoleProcessor,
	"dispatcher": appconfig.RoleDispatcher, "deadletter": appconfig.RoleDeadLetter,
}

// TestSchemaMatchesConfig feeds each value's edges to the chart (schema and template
// checks, through a render) and to config.Parse with the env the chart renders for the
// role, and fails where one takes a value the other refuses.
func TestSchemaMatchesConfig(t *testing.T) {
	for _, leaf := range schemaLeaves(t) {
		if rowFor(leaf) == nil {
			t.Errorf("values.schema.json has %s, which valueTable does not map: add a row with its env var or why it has none", leaf)
		}
	}
	for _, row := range valueTable {
		if row.env == "" {
			if row.why == "" {
				t.Errorf("%s: a row without env says why", row.path)
			}
			continue
		}
		t.Run(row.path, func(t *testing.T) {
			base := mustMerge(t, row.base)
			env, err := roleEnv(base, row.role)
			if err != nil {
				t.Fatalf("render with %v: %v", row.base, err)
			}
			if _, ok := env[row.env]; !ok {
				t.Fatalf("%s renders no %s for the %s", row.path, row.env, row.role)
			}
			if _, err := appconfig.Parse(roles[row.role], lookup(env)); err != nil {
				t.Fatalf("the app refuses the %s's env as rendered with %v: %v", row.role, row.base, err)
			}
			for _, probe := range row.probes {
				checkProbe(t, row, probe)
			}
		})
	}
}

func checkProbe(t *testing.T, row valueRow, probe any) {
	t.Helper()
	vals := mustMerge(t, row.base)
	setPath(vals, row.path, probe)
	env, chartErr := roleEnv(vals, row.role)
	if chartErr != nil {
		// Refused: the pod would get the value as the template spells it.
		if !mentions(chartErr, row.path) {
			t.Errorf("%s=%#v: render failed for another reason: %v", row.path, probe, chartErr)
			return
		}
		if env, _ = roleEnv(mustMerge(t, row.base), row.role); env == nil {
			t.Fatalf("base render failed")
		}
		env[row.env] = envText(row, probe)
	}
	if f, ok := probe.(float64); ok && chartErr == nil && env[row.env] != envText(row, f) {
		t.Errorf("%s=%v renders %s=%q, want %q", row.path, f, row.env, env[row.env], envText(row, f))
	}
	_, appErr := appconfig.Parse(roles[row.role], lookup(env))
	if appErr != nil && !strings.Contains(appErr.Error(), row.env) {
		t.Errorf("%s=%#v: the app refuses it for another reason: %v", row.path, probe, appErr)
	}
	if (chartErr == nil) != (appErr == nil) {
		t.Errorf("%s=%#v (%s=%q): chart error %v, app error %v", row.path, probe, row.env, env[row.env], chartErr, appErr)
	}
}

// envText is how the env spells a value: whole numbers as digits.
func envText(row valueRow, v any) string {
	switch x := v.(type) {
	case float64:
		v = strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		v = strings.Join(parts, ",")
	}
	verb := row.text
	if verb == "" {
		verb = "%v"
	}
	return fmt.Sprintf(verb, v)
}

// mentions reports whether a render error names the value, by schema path or dotted path.
func mentions(err error, path string) bool {
	msg, schemaPath := err.Error(), "'/"+strings.ReplaceAll(path, ".", "/")
	return strings.Contains(msg, schemaPath+"'") || strings.Contains(msg, schemaPath+"/") || strings.Contains(msg, path)
}

func mustMerge(t *testing.T, set []string) map[string]any {
	t.Helper()
	vals, err := mergeValues(nil, set)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// setPath sets a dotted path in values, with the value's own type.
func setPath(vals map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	m := vals
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// roleEnv renders values and returns the env of the role's container as the kubelet would
// set it: plain values, the chart-made Secret's data, and stand-ins for other references.
func roleEnv(vals map[string]any, role string) (map[string]string, error) {
	docs, err := renderValues(vals)
	if err != nil {
		return nil, err
	}
	secrets := map[string]map[string][]byte{}
	var containers []corev1.Container
	for _, d := range docs {
		switch {
		case d.kind == "Secret":
			var s corev1.Secret
			if err := yaml.Unmarshal(d.raw, &s); err != nil {
				return nil, err
			}
			secrets[s.Name] = s.Data
		case d.kind == "Service" && d.apiVersion == "serving.knative.dev/v1", d.kind == "Deployment":
			var w struct {
				Spec struct {
					Template struct {
						Spec corev1.PodSpec `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(d.raw, &w); err != nil {
				return nil, err
			}
			for _, c := range w.Spec.Template.Spec.Containers {
				if slices.Equal(c.Args, []string{role}) {
					containers = append(containers, c)
				}
			}
		}
	}
	if len(containers) != 1 {
		return nil, fmt.Errorf("%d containers run %s", len(containers), role)
	}
	env := map[string]string{}
	for _, e := range containers[0].Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if data, ok := secrets[ref.Name]; ok {
				env[e.Name] = string(data[ref.Key])
			} else {
				env[e.Name] = standIn[e.Name]
			}
		default:
			env[e.Name] = "from-the-downward-api"
		}
	}
	return env, nil
}

// standIn are valid values for what an existing Secret of the user's holds.
var standIn = map[string]string{
	"TRACING":             "http://collector.example:14268/api/traces",
	"BARRAGE_ADMIN_TOKEN": strings.Repeat("a", appconfig.MinAdminTokenLen),
}

func lookup(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func rowFor(leaf string) *valueRow {
	for i, r := range valueTable {
		if r.path == leaf || strings.HasSuffix(r.path, ".*") && strings.HasPrefix(leaf, strings.TrimSuffix(r.path, "*")) {
			return &valueTable[i]
		}
	}
	return nil
}

// schemaLeaves walks values.schema.json down to the values that have no properties of
// their own.
func schemaLeaves(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type node struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var leaves []string
	var walk func(raw json.RawMessage, path string)
	walk = func(raw json.RawMessage, path string) {
		var n node
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(n.Properties) == 0 {
			leaves = append(leaves, path)
			return
		}
		for k, v := range n.Properties {
			walk(v, strings.TrimPrefix(path+"."+k, "."))
		}
	}
	walk(raw, "")
	sort.Strings(leaves)
	return leaves
}
