package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseDefaults(t *testing.T) {
	c, err := Parse(RoleDev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DevPorts.Processor != 8081 || c.Broker.Addr != "127.0.0.1:9092" {
		t.Fatalf("ports: %+v", c)
	}
	if c.Kafka.Topic != "barrage-info" || c.Kafka.NoticeTopic != "barrage-stored" || c.Dispatch.ConsumerGroup != "barrage-info-consumer" {
		t.Fatalf("kafka names: %+v %+v", c.Kafka, c.Dispatch)
	}
	if c.Dispatch.RetryCount != 5 || c.Dispatch.RetryInterval != 2*time.Second || c.Dispatch.RequestTimeout != time.Minute {
		t.Fatalf("delivery: %+v", c.Dispatch)
	}
	if c.HomePage.PollInterval != 5*time.Second {
		t.Fatalf("safety poll: %v", c.HomePage.PollInterval)
	}
	if c.OTS.Enabled() || c.DataDir != "./data" || c.Retention != 7*24*time.Hour || c.Processor.StoreWriters != 1 {
		t.Fatalf("store: %+v", c)
	}
}

func TestParseSeedVariables(t *testing.T) {
	c, err := Parse(RoleHomePage, env(map[string]string{
		"KAFKA_SERVER": "10.0.0.1:9093, 10.0.0.2:9093", "KAFKA_USER": "u", "KAFKA_PWD": "p", "KAFKA_TOPIC": "t",
		"OTS_ENDPOINT": "https://barrage.cn-hangzhou.ots.aliyuncs.com", "OTS_INSTANCENAME": "barrage",
		"TABLE_NAME": "barrage", "OTS_KEYID": "id", "OTS_SECRET": "s3cret",
		"TRACE_NAME1": "sender", "PARENT_SPAN": "barrage-sender", "SUB_SPAN2": "result",
		"BARRAGE_REQUEST_TIMEOUT": "60", // the seed's annotations give plain seconds
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Kafka.Brokers) != 2 || c.Kafka.Brokers[1] != "10.0.0.2:9093" || c.Kafka.Topic != "t" {
		t.Fatalf("kafka: %+v", c.Kafka)
	}
	if !c.OTS.Enabled() || c.OTS.Secret != "s3cret" || c.Processor.StoreWriters != TablestoreWriters {
		t.Fatalf("ots: %+v, %d writers", c.OTS, c.Processor.StoreWriters)
	}
	if c.Tracing.SpanNames["TRACE_NAME1"] != "sender" || c.Tracing.SpanNames["SUB_SPAN2"] != "result" {
		t.Fatalf("span names: %v", c.Tracing.SpanNames)
	}
	if c.Dispatch.RequestTimeout != time.Minute {
		t.Fatalf("timeout: %v", c.Dispatch.RequestTimeout)
	}
	if got := c.Secrets(); len(got) != 2 {
		t.Fatalf("secrets: %v", got)
	}
}

func TestParseErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		role Role
		env  map[string]string
		want string
	}{
		{"bad port", RoleDev, map[string]string{"PORT": "http"}, "PORT"},
		{"port out of range", RoleDev, map[string]string{"PORT": "70000"}, "PORT"},
		{"metrics port on PORT", RoleHomePage, map[string]string{"KAFKA_SERVER": "k:9092", "BARRAGE_METRICS_PORT": "8080"}, "BARRAGE_METRICS_PORT"},
		{"metrics port out of range", RoleDev, map[string]string{"BARRAGE_METRICS_PORT": "65536"}, "BARRAGE_METRICS_PORT"},
		{"oidc subject not a service account", RoleProcessor, map[string]string{"BARRAGE_OIDC_AUDIENCE": "a", "BARRAGE_OIDC_SUBJECTS": "system:serviceaccount:barrage:ok,admin"}, "BARRAGE_OIDC_SUBJECTS"},
		{"oidc subject with an upper-case name", RoleProcessor, map[string]string{"BARRAGE_OIDC_AUDIENCE": "a", "BARRAGE_OIDC_SUBJECTS": "system:serviceaccount:barrage:Source"}, "BARRAGE_OIDC_SUBJECTS"},
		{"bad retry count", RoleDev, map[string]string{"BARRAGE_RETRY_COUNT": "-1"}, "BARRAGE_RETRY_COUNT"},
		{"bad duration", RoleDev, map[string]string{"BARRAGE_RETRY_INTERVAL": "soon"}, "BARRAGE_RETRY_INTERVAL"},
		{"bad bool", RoleDev, map[string]string{"BARRAGE_LOAD_SENDER": "maybe"}, "BARRAGE_LOAD_SENDER"},
		{"bad sink", RoleDev, map[string]string{"K_SINK": "processor"}, "K_SINK"},
		{"bad ots endpoint", RoleDev, map[string]string{"OTS_ENDPOINT": "::"}, "OTS_ENDPOINT"},
		{"ots without key", RoleDev, map[string]string{"OTS_ENDPOINT": "https://x.ots.aliyuncs.com", "OTS_INSTANCENAME": "i", "OTS_SECRET": "s"}, "OTS_KEYID"},
		{"user without password", RoleDev, map[string]string{"KAFKA_USER": "u"}, "KAFKA_PWD"},
		{"homepage without brokers", RoleHomePage, nil, "KAFKA_SERVER"},
		{"dead-letter sink without brokers", RoleDeadLetter, nil, "KAFKA_SERVER"},
		{"redrive without brokers", RoleRedrive, nil, "KAFKA_SERVER"},
		{"dispatcher without sink", RoleDispatcher, map[string]string{"KAFKA_SERVER": "k:9092"}, "K_SINK"},
		{"unknown log level", RoleDev, map[string]string{"BARRAGE_LOG_LEVEL": "loud"}, "BARRAGE_LOG_LEVEL"},
		{"no store writers", RoleProcessor, map[string]string{"BARRAGE_STORE_WRITERS": "0"}, "BARRAGE_STORE_WRITERS"},
		{"notices on the barrage topic", RoleProcessor, map[string]string{"BARRAGE_NOTICE_TOPIC": "barrage-info"}, "BARRAGE_NOTICE_TOPIC"},
		{"notices on the dead-letter topic", RoleHomePage, map[string]string{"KAFKA_SERVER": "k:9092", "BARRAGE_NOTICE_TOPIC": "barrage-info-dead-letter"}, "BARRAGE_NOTICE_TOPIC"},
		{"unknown backoff", RoleDev, map[string]string{"BARRAGE_BACKOFF_POLICY": "random"}, "BARRAGE_BACKOFF_POLICY"},
		{"CA without TLS", RoleDev, map[string]string{"BARRAGE_KAFKA_CA_FILE": "/ca.crt"}, "BARRAGE_KAFKA_TLS"},
		{"broker cert without key", RoleBroker, map[string]string{"BARRAGE_BROKER_TLS_CERT_FILE": "/tls.crt"}, "BARRAGE_BROKER_TLS_KEY_FILE"},
		{"bad proxy", RoleDev, map[string]string{"BARRAGE_TRUSTED_PROXIES": "10.0.0.0/8, ingress"}, "BARRAGE_TRUSTED_PROXIES"},
		{"proxy with zone", RoleDev, map[string]string{"BARRAGE_TRUSTED_PROXIES": "fe80::1%eth0"}, "BARRAGE_TRUSTED_PROXIES"},
		{"proxies and hops", RoleDev, map[string]string{"BARRAGE_TRUSTED_PROXIES": "10.0.0.0/8", "BARRAGE_TRUSTED_HOPS": "2"}, "BARRAGE_TRUSTED_HOPS"},
		{"too many hops", RoleDev, map[string]string{"BARRAGE_TRUSTED_HOPS": "99"}, "BARRAGE_TRUSTED_HOPS"},
		{"bad header name", RoleDev, map[string]string{"BARRAGE_CLIENT_IP_HEADER": "X-Forwarded-For: 1.2.3.4"}, "BARRAGE_CLIENT_IP_HEADER"},
		{"bad open rate", RoleDev, map[string]string{"BARRAGE_STREAM_OPENS_PER_SECOND": "NaN"}, "BARRAGE_STREAM_OPENS_PER_SECOND"},
		{"no clients", RoleDev, map[string]string{"BARRAGE_MAX_CLIENTS": "0"}, "BARRAGE_MAX_CLIENTS"},
		{"no rooms", RoleDev, map[string]string{"BARRAGE_MAX_ROOMS": "0"}, "BARRAGE_MAX_ROOMS"},
		{"tiny read timeout", RoleDev, map[string]string{"BARRAGE_READ_TIMEOUT": "1ms"}, "BARRAGE_READ_TIMEOUT"},
		{"unknown ordering", RoleDev, map[string]string{"BARRAGE_DELIVERY_ORDERING": "sorted"}, "BARRAGE_DELIVERY_ORDERING"},
		{"zero max delay", RoleDev, map[string]string{"BARRAGE_RETRY_MAX_DELAY": "0s"}, "BARRAGE_RETRY_MAX_DELAY"},
		{"max delay below interval", RoleDev, map[string]string{"BARRAGE_RETRY_MAX_DELAY": "1s", "BARRAGE_RETRY_INTERVAL": "2s"}, "BARRAGE_RETRY_MAX_DELAY"},
		{"bad max delay", RoleDev, map[string]string{"BARRAGE_RETRY_MAX_DELAY": "forever"}, "BARRAGE_RETRY_MAX_DELAY"},
		{"bad oidc issuer", RoleProcessor, map[string]string{"BARRAGE_OIDC_AUDIENCE": "a", "BARRAGE_OIDC_ISSUER": "kubernetes"}, "BARRAGE_OIDC_ISSUER"},
		{"plain-http jwks", RoleProcessor, map[string]string{"BARRAGE_OIDC_AUDIENCE": "a", "BARRAGE_OIDC_JWKS_URL": "http://kubernetes.default.svc/openid/v1/jwks"}, "BARRAGE_OIDC_JWKS_URL"},
		{"oidc in dev mode", RoleDev, map[string]string{"BARRAGE_OIDC_AUDIENCE": "a"}, "BARRAGE_OIDC_AUDIENCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.role, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseClientAddress(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		header  string
		proxies []string
		hops    int
	}{
		{"nothing set: the peer", nil, "", nil, 0},
		{"header alone trusts private peers only", map[string]string{"BARRAGE_CLIENT_IP_HEADER": "X-Forwarded-For"}, "X-Forwarded-For", prefixStrings(privateNetworks), 0},
		{"proxies imply the header", map[string]string{"BARRAGE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7, ::ffff:198.51.100.0/120"},
			"X-Forwarded-For", []string{"10.0.0.0/8", "192.0.2.7/32", "198.51.100.0/24"}, 0},
		{"hops imply the header", map[string]string{"BARRAGE_TRUSTED_HOPS": "2"}, "X-Forwarded-For", nil, 2},
		{"another header", map[string]string{"BARRAGE_CLIENT_IP_HEADER": "X-Real-Ip", "BARRAGE_TRUSTED_HOPS": "1"}, "X-Real-Ip", nil, 1},
		{"a prefix is masked", map[string]string{"BARRAGE_TRUSTED_PROXIES": "10.1.2.3/8"}, "X-Forwarded-For", []string{"10.0.0.0/8"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(RoleDev, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			h := c.HomePage
			if h.ClientIPHeader != tt.header || h.TrustedHops != tt.hops || strings.Join(prefixStrings(h.TrustedProxies), " ") != strings.Join(tt.proxies, " ") {
				t.Fatalf("got header %q, proxies %v, hops %d", h.ClientIPHeader, h.TrustedProxies, h.TrustedHops)
			}
		})
	}
}

// Every role delivers unordered unless told otherwise; ordered stays selectable.
func TestDeliveryOrdering(t *testing.T) {
	base := map[string]string{"KAFKA_SERVER": "k:9092", "K_SINK": "http://processor/"}
	tests := []struct {
		name string
		role Role
		set  string
		want string
	}{
		{"dev default", RoleDev, "", "unordered"},
		{"dispatcher default", RoleDispatcher, "", "unordered"},
		{"homepage default", RoleHomePage, "", "unordered"},
		{"processor default", RoleProcessor, "", "unordered"},
		{"dispatcher ordered", RoleDispatcher, "ordered", "ordered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{"BARRAGE_DELIVERY_ORDERING": tt.set}
			for k, v := range base {
				e[k] = v
			}
			c, err := Parse(tt.role, env(e))
			if err != nil {
				t.Fatal(err)
			}
			if c.Dispatch.Ordering != tt.want {
				t.Fatalf("ordering = %q, want %q", c.Dispatch.Ordering, tt.want)
			}
		})
	}
}

func TestParseOIDC(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want OIDC
	}{
		{name: "off by default", env: nil, want: OIDC{
			Issuer: "https://kubernetes.default.svc", JWKSURL: "https://kubernetes.default.svc/openid/v1/jwks",
			CAFile: ServiceAccountCA, TokenFile: ServiceAccountToken,
		}},
		{name: "on in a pod", env: map[string]string{"BARRAGE_OIDC_AUDIENCE": "serving.knative.dev/service/ns/p"}, want: OIDC{
			Audience: "serving.knative.dev/service/ns/p",
			Issuer:   "https://kubernetes.default.svc", JWKSURL: "https://kubernetes.default.svc/openid/v1/jwks",
			CAFile: ServiceAccountCA, TokenFile: ServiceAccountToken,
		}},
		{name: "another issuer", env: map[string]string{
			"BARRAGE_OIDC_AUDIENCE": "aud", "BARRAGE_OIDC_ISSUER": "https://oidc.eks.example/id/1",
			"BARRAGE_OIDC_JWKS_URL": "https://127.0.0.1:6443/openid/v1/jwks",
			"BARRAGE_OIDC_CA_FILE":  "/etc/ca.crt", "BARRAGE_OIDC_TOKEN_FILE": "/etc/token",
			"BARRAGE_OIDC_SUBJECTS": "system:serviceaccount:ns:kafkasource-oidc, system:serviceaccount:ns:a.b",
		}, want: OIDC{
			Audience: "aud", Subjects: []string{"system:serviceaccount:ns:kafkasource-oidc", "system:serviceaccount:ns:a.b"},
			Issuer: "https://oidc.eks.example/id/1", JWKSURL: "https://127.0.0.1:6443/openid/v1/jwks",
			CAFile: "/etc/ca.crt", TokenFile: "/etc/token",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(RoleProcessor, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Processor.OIDC, tt.want) || c.Processor.OIDC.Enabled() != (tt.want.Audience != "") {
				t.Fatalf("OIDC %+v, want %+v", c.Processor.OIDC, tt.want)
			}
		})
	}
}

func prefixStrings(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestRetryMaxDelay(t *testing.T) {
	c, err := Parse(RoleDev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Dispatch.RetryMaxDelay != time.Minute {
		t.Fatalf("default max delay = %v", c.Dispatch.RetryMaxDelay)
	}
	c, err = Parse(RoleDev, env(map[string]string{"BARRAGE_RETRY_MAX_DELAY": "30s", "BARRAGE_RETRY_COUNT": "100"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Dispatch.RetryMaxDelay != 30*time.Second || c.Dispatch.RetryCount != 100 {
		t.Fatalf("dispatch: %+v", c.Dispatch)
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"": RoleDev, "manager": RoleProcessor, "HomePage": RoleHomePage, "broker": RoleBroker,
		"deadletter": RoleDeadLetter, "dead-letter": RoleDeadLetter, "redrive": RoleRedrive} {
		if got, err := ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseRole("frontend"); err == nil {
		t.Error("ParseRole accepted an unknown role")
	}
}
