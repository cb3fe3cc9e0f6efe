// Package config turns the environment contract (the seed's variable names, Knative's PORT
// and K_SINK, and BARRAGE_* for everything new) into one validated struct per process.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Role names a part of the pipeline that one process runs.
type Role string

const (
	RoleDev        Role = "dev" // every role in one process
	RoleHomePage   Role = "homepage"
	RoleProcessor  Role = "processor"
	RoleDispatcher Role = "dispatcher"
	RoleBroker     Role = "broker"
	RoleDeadLetter Role = "deadletter" // the KafkaSource's dead-letter sink: CloudEvents -> the dead-letter topic
	RoleRedrive    Role = "redrive"    // an operator command: dead-letter topic -> KAFKA_TOPIC, then exit
)

// ParseRole accepts the role names and the seed's aliases ("manager" is the processor).
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "dev", "all":
		return RoleDev, nil
	case "homepage", "main":
		return RoleHomePage, nil
	case "processor", "manager":
		return RoleProcessor, nil
	case "dispatcher":
		return RoleDispatcher, nil
	case "broker":
		return RoleBroker, nil
	case "deadletter", "dead-letter":
		return RoleDeadLetter, nil
	case "redrive":
		return RoleRedrive, nil
	}
	return "", fmt.Errorf("unknown role %q: want dev, homepage, processor, dispatcher, broker, deadletter or redrive", s)
}

// Config is everything a process reads from its environment.
type Config struct {
	Role Role
	Port int // PORT: the role's HTTP port
	// MetricsPort serves /metrics apart from PORT (BARRAGE_METRICS_PORT); 0 serves it on PORT.
	MetricsPort int
	Host        string // BARRAGE_HOST: the address HTTP servers bind to
	DataDir     string // BARRAGE_DATA_DIR: embedded store and broker data
	LogLevel    string
	LogJSON     bool
	// ReadTimeout bounds reading a whole request, body included (BARRAGE_READ_TIMEOUT);
	// streams write for hours and are not bound by it.
	ReadTimeout time.Duration

	Kafka     Kafka
	OTS       OTS
	Retention time.Duration
	Dispatch  Dispatch
	Processor Processor
	HomePage  HomePage
	Operator  Operator
	Broker    Broker
	Tracing   Tracing
	PodName   string
	Namespace string
	DevPorts  DevPorts
}

// Kafka is where barrages are produced and consumed.
type Kafka struct {
	Brokers       []string // KAFKA_SERVER; empty means the embedded broker (dev only)
	User          string   // KAFKA_USER
	Password      string   // KAFKA_PWD
	SASLMechanism string   // BARRAGE_KAFKA_SASL_MECHANISM
	TLS           bool     // BARRAGE_KAFKA_TLS
	CAFile        string   // BARRAGE_KAFKA_CA_FILE: PEM roots trusted besides the system's
	TLSServerName string   // BARRAGE_KAFKA_TLS_SERVER_NAME: the name to verify when brokers are addressed by IP
	Topic         string   // KAFKA_TOPIC
	NoticeTopic   string   // BARRAGE_NOTICE_TOPIC: what the processor stored, for every HomePage
}

// OTS selects Tablestore when Endpoint is set.
type OTS struct {
	Endpoint string // OTS_ENDPOINT
	Instance string // OTS_INSTANCENAME
	Table    string // TABLE_NAME
	KeyID    string // OTS_KEYID
	Secret   string // OTS_SECRET
}

// Enabled reports whether Tablestore is configured.
func (o OTS) Enabled() bool { return o.Endpoint != "" }

// Dispatch mirrors a KafkaSource's settings (and the seed's k8s.aliyun.com annotations).
type Dispatch struct {
	Sink            string        // K_SINK
	ConsumerGroup   string        // BARRAGE_CONSUMER_GROUP
	RetryCount      int           // BARRAGE_RETRY_COUNT (k8s.aliyun.com/retry-count)
	RetryInterval   time.Duration // BARRAGE_RETRY_INTERVAL (k8s.aliyun.com/retry-interval)
	BackoffPolicy   string        // BARRAGE_BACKOFF_POLICY: exponential or linear, as delivery.backoffPolicy
	RetryMaxDelay   time.Duration // BARRAGE_RETRY_MAX_DELAY: no wait between retries is longer
	RequestTimeout  time.Duration // BARRAGE_REQUEST_TIMEOUT (k8s.aliyun.com/req-timeout)
	DeadLetterTopic string        // BARRAGE_DEAD_LETTER_TOPIC
	InitialOffset   string        // BARRAGE_INITIAL_OFFSET: earliest or latest
	Ordering        string        // BARRAGE_DELIVERY_ORDERING: ordered or unordered, as a KafkaSource's ordering
	Concurrency     int           // BARRAGE_DELIVERY_CONCURRENCY: deliveries in flight per partition when unordered
}

// Processor holds the moderation and store-write settings.
type Processor struct {
	SensitiveWords []string // BARRAGE_SENSITIVE_WORDS
	StoreWriters   int      // BARRAGE_STORE_WRITERS: store writes at once
	OIDC           OIDC
}

// OIDC is how the processor checks the tokens Knative Eventing sends to its sinks.
type OIDC struct {
	Audience  string   // BARRAGE_OIDC_AUDIENCE: set, it turns verification on
	Subjects  []string // BARRAGE_OIDC_SUBJECTS: the senders' service accounts; empty accepts any
	Issuer    string   // BARRAGE_OIDC_ISSUER
	JWKSURL   string   // BARRAGE_OIDC_JWKS_URL
	CAFile    string   // BARRAGE_OIDC_CA_FILE: CA of the JWKS server
	TokenFile string   // BARRAGE_OIDC_TOKEN_FILE: bearer token for the JWKS request
}

// serviceAccountSubject is the sub claim of a Kubernetes service-account token.
var serviceAccountSubject = regexp.MustCompile(`^system:serviceaccount:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$`)

// Enabled reports whether sink requests must carry a token.
func (o OIDC) Enabled() bool { return o.Audience != "" }

// The pod's own service-account files, which a kube-apiserver's JWKS request needs.
const (
	ServiceAccountCA    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
	ServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"
)

// HomePage holds the page's and the load sender's settings.
type HomePage struct {
	LoadSender         bool          // BARRAGE_LOAD_SENDER: on by default in dev, or when an operator token is set
	LoadMaxConcurrent  int           // BARRAGE_LOAD_MAX_CONCURRENCY
	LoadMaxDuration    time.Duration // BARRAGE_LOAD_MAX_DURATION
	LoadMaxRate        int           // BARRAGE_LOAD_MAX_RATE: barrages per second all load runs of one instance send
	AllowedOrigins     []string      // BARRAGE_ALLOWED_ORIGINS
	PollInterval       time.Duration // BARRAGE_POLL_INTERVAL: how often a room's feed reads the store without a notice
	SendsPerSecond     float64       // BARRAGE_RATE_LIMIT: barrages per second per client; 0 is off
	SendBurst          int           // BARRAGE_RATE_BURST
	StreamsPerClient   int           // BARRAGE_MAX_STREAMS_PER_CLIENT
	ViewersPerRoom     int           // BARRAGE_MAX_VIEWERS_PER_ROOM
	StreamWriteTimeout time.Duration // BARRAGE_STREAM_WRITE_TIMEOUT: a viewer blocked this long is evicted
	StreamOpensPerSec  float64       // BARRAGE_STREAM_OPENS_PER_SECOND: streams one client may open per second; 0 is off
	StreamOpenBurst    int           // BARRAGE_STREAM_OPEN_BURST
	MaxClients         int           // BARRAGE_MAX_CLIENTS: clients whose budgets one instance tracks at once
	MaxRooms           int           // BARRAGE_MAX_ROOMS: rooms one instance keeps live feeds for at once

	// Who the client is. The header is read only from a trusted peer (or with TrustedHops),
	// and its rightmost untrusted entry is the client: the leftmost is the client's own claim.
	ClientIPHeader string         // BARRAGE_CLIENT_IP_HEADER; X-Forwarded-For when proxies or hops are set
	TrustedProxies []netip.Prefix // BARRAGE_TRUSTED_PROXIES; privateNetworks when only the header is set
	TrustedHops    int            // BARRAGE_TRUSTED_HOPS: proxies in front, each appending one entry
}

// privateNetworks are the proxies trusted when BARRAGE_CLIENT_IP_HEADER is set alone:
// loopback, private, shared (carrier-grade NAT, which cloud load balancers use) and
// link-local space, where a cluster's ingress, activator and queue-proxy live. A peer on
// the internet is never one of them, so its header is ignored.
var privateNetworks = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// Operator is who may use the routes a stranger must not: load runs, later moderation.
type Operator struct {
	Token string // BARRAGE_ADMIN_TOKEN: the operator's bearer token; a secret
}

// MinAdminTokenLen is the shortest operator token accepted: 32 random characters are far
// beyond guessing at the rate wrong tokens are let through.
const MinAdminTokenLen = 32

// Broker is the embedded Kafka-protocol broker.
type Broker struct {
	Addr       string // BARRAGE_BROKER_ADDR
	Partitions int    // BARRAGE_BROKER_PARTITIONS
	TLSCert    string // BARRAGE_BROKER_TLS_CERT_FILE: with the key, the broker speaks only TLS
	TLSKey     string // BARRAGE_BROKER_TLS_KEY_FILE
}

// Tracing is the seed's tracing endpoint and span names.
type Tracing struct {
	Endpoint  string            // TRACING
	UseOTEL   bool              // OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set instead
	SpanNames map[string]string // TRACE_NAME*, PARENT_SPAN, SUB_SPAN* as written
}

// DevPorts are the extra ports dev mode opens beside PORT.
type DevPorts struct {
	Processor int // BARRAGE_PROCESSOR_PORT
}

// Secrets returns the values that must never appear in logs or error bodies.
func (c Config) Secrets() []string {
	var s []string
	for _, v := range []string{c.Kafka.Password, c.OTS.Secret, c.Operator.Token} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// defaultOrdering is unordered for every role: the store orders a room by write position,
// so ordered delivery buys nothing, while it holds a partition to one delivery at a time
// and lets one retrying record stall every room on that partition (docs/reliability.md).
const defaultOrdering = "unordered"

// defaultConcurrency is deliveries in flight per partition. In dev one process plays every
// part, so under load a delivery waits its turn for a core: at 5,000/s one took about
// 25 ms, and 128 in flight capped the partition there while a backlog grew in Kafka
// (docs/benchmarks.md). Elsewhere a processor pod takes its share behind the autoscaler.
func defaultConcurrency(r Role) int {
	if r == RoleDev {
		return 512
	}
	return 32
}

// TablestoreWriters is the default of BARRAGE_STORE_WRITERS on Tablestore, where a write
// mostly waits on the network: enough for the seed's two events at once to write side by
// side, while more than four events still share writes. The embedded store's file has
// one writer at a time, so there it is one.
const TablestoreWriters = 4

func defaultStoreWriters(o OTS) int {
	if o.Enabled() {
		return TablestoreWriters
	}
	return 1
}

func defaultPort(r Role) int {
	switch r {
	case RoleProcessor:
		return 8081
	case RoleDispatcher:
		return 8082
	case RoleBroker:
		return 8083
	case RoleDeadLetter:
		return 8084
	}
	return 8080
}

// Parse reads the environment through getenv for role. It fails on the first bad value
// with an error that names the variable.
func Parse(role Role, getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{Role: role}
	c.Port = p.int("PORT", defaultPort(role), 0, 65535)
	c.MetricsPort = p.int("BARRAGE_METRICS_PORT", 0, 0, 65535)
	c.Host = p.str("BARRAGE_HOST", "127.0.0.1")
	if getenv("K_SERVICE") != "" && getenv("BARRAGE_HOST") == "" {
		c.Host = "" // inside Knative the queue-proxy reaches us on the pod address
	}
	c.DataDir = p.str("BARRAGE_DATA_DIR", "./data")
	c.LogLevel = p.oneOf("BARRAGE_LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.LogJSON = p.oneOf("BARRAGE_LOG_FORMAT", "text", "text", "json") == "json"
	c.ReadTimeout = p.duration("BARRAGE_READ_TIMEOUT", 15*time.Second)

	c.Kafka = Kafka{
		Brokers:       p.list("KAFKA_SERVER"),
		User:          p.str("KAFKA_USER", ""),
		Password:      p.str("KAFKA_PWD", ""),
		SASLMechanism: p.oneOf("BARRAGE_KAFKA_SASL_MECHANISM", "PLAIN", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
		TLS:           p.bool("BARRAGE_KAFKA_TLS", false),
		CAFile:        p.str("BARRAGE_KAFKA_CA_FILE", ""),
		TLSServerName: p.str("BARRAGE_KAFKA_TLS_SERVER_NAME", ""),
		Topic:         p.str("KAFKA_TOPIC", "barrage-info"),
		NoticeTopic:   p.str("BARRAGE_NOTICE_TOPIC", "barrage-stored"),
	}
	c.OTS = OTS{
		Endpoint: p.url("OTS_ENDPOINT"),
		Instance: p.str("OTS_INSTANCENAME", ""),
		Table:    p.str("TABLE_NAME", "barrage"),
		KeyID:    p.str("OTS_KEYID", ""),
		Secret:   p.str("OTS_SECRET", ""),
	}
	c.Retention = p.duration("BARRAGE_RETENTION", 7*24*time.Hour)
	c.Dispatch = Dispatch{
		Sink:            p.url("K_SINK"),
		ConsumerGroup:   p.str("BARRAGE_CONSUMER_GROUP", "barrage-info-consumer"),
		RetryCount:      p.int("BARRAGE_RETRY_COUNT", 5, 0, 100),
		RetryInterval:   p.duration("BARRAGE_RETRY_INTERVAL", 2*time.Second),
		BackoffPolicy:   p.oneOf("BARRAGE_BACKOFF_POLICY", "exponential", "exponential", "linear"),
		RetryMaxDelay:   p.duration("BARRAGE_RETRY_MAX_DELAY", time.Minute),
		RequestTimeout:  p.duration("BARRAGE_REQUEST_TIMEOUT", 60*time.Second),
		DeadLetterTopic: p.str("BARRAGE_DEAD_LETTER_TOPIC", "barrage-info-dead-letter"),
		InitialOffset:   p.oneOf("BARRAGE_INITIAL_OFFSET", "earliest", "earliest", "latest"),
		Ordering:        p.oneOf("BARRAGE_DELIVERY_ORDERING", defaultOrdering, "ordered", "unordered"),
		Concurrency:     p.int("BARRAGE_DELIVERY_CONCURRENCY", defaultConcurrency(role), 1, 10000),
	}
	c.Processor = Processor{
		SensitiveWords: p.list("BARRAGE_SENSITIVE_WORDS"),
		StoreWriters:   p.int("BARRAGE_STORE_WRITERS", defaultStoreWriters(c.OTS), 1, 64),
		OIDC: OIDC{
			Audience:  p.str("BARRAGE_OIDC_AUDIENCE", ""),
			Subjects:  p.list("BARRAGE_OIDC_SUBJECTS"),
			Issuer:    p.urlOr("BARRAGE_OIDC_ISSUER", "https://kubernetes.default.svc"),
			JWKSURL:   p.urlOr("BARRAGE_OIDC_JWKS_URL", "https://kubernetes.default.svc/openid/v1/jwks"),
			CAFile:    p.str("BARRAGE_OIDC_CA_FILE", ServiceAccountCA),
			TokenFile: p.str("BARRAGE_OIDC_TOKEN_FILE", ServiceAccountToken),
		},
	}
	c.Operator = Operator{Token: p.token("BARRAGE_ADMIN_TOKEN")}
	c.HomePage = HomePage{
		LoadSender:         p.bool("BARRAGE_LOAD_SENDER", role == RoleDev || c.Operator.Token != ""),
		LoadMaxConcurrent:  p.int("BARRAGE_LOAD_MAX_CONCURRENCY", 64, 1, 1024),
		LoadMaxDuration:    p.duration("BARRAGE_LOAD_MAX_DURATION", time.Minute),
		LoadMaxRate:        p.int("BARRAGE_LOAD_MAX_RATE", 1000, 1, 1_000_000),
		AllowedOrigins:     p.list("BARRAGE_ALLOWED_ORIGINS"),
		PollInterval:       p.duration("BARRAGE_POLL_INTERVAL", 5*time.Second),
		SendsPerSecond:     float64(p.int("BARRAGE_RATE_LIMIT", 10, 0, 1_000_000)),
		SendBurst:          p.int("BARRAGE_RATE_BURST", 20, 1, 1_000_000),
		StreamsPerClient:   p.int("BARRAGE_MAX_STREAMS_PER_CLIENT", 32, 0, 1_000_000),
		ViewersPerRoom:     p.int("BARRAGE_MAX_VIEWERS_PER_ROOM", 20000, 1, 10_000_000),
		StreamWriteTimeout: p.duration("BARRAGE_STREAM_WRITE_TIMEOUT", 5*time.Second),
		StreamOpensPerSec:  p.float("BARRAGE_STREAM_OPENS_PER_SECOND", 2, 0, 1_000_000),
		StreamOpenBurst:    p.int("BARRAGE_STREAM_OPEN_BURST", 20, 1, 1_000_000),
		MaxClients:         p.int("BARRAGE_MAX_CLIENTS", 50_000, 1, 10_000_000),
		MaxRooms:           p.int("BARRAGE_MAX_ROOMS", 1000, 1, 1_000_000),
		ClientIPHeader:     p.headerName("BARRAGE_CLIENT_IP_HEADER"),
		TrustedProxies:     p.prefixes("BARRAGE_TRUSTED_PROXIES"),
		TrustedHops:        p.int("BARRAGE_TRUSTED_HOPS", 0, 0, 16),
	}
	if c.HomePage.TrustedHops > 0 && len(c.HomePage.TrustedProxies) > 0 {
		p.fail("BARRAGE_TRUSTED_HOPS", "and BARRAGE_TRUSTED_PROXIES are alternatives; set one")
	}
	c.HomePage.clientDefaults()
	c.Broker = Broker{
		Addr:       p.str("BARRAGE_BROKER_ADDR", "127.0.0.1:9092"),
		Partitions: p.int("BARRAGE_BROKER_PARTITIONS", 4, 1, 1024),
		TLSCert:    p.str("BARRAGE_BROKER_TLS_CERT_FILE", ""),
		TLSKey:     p.str("BARRAGE_BROKER_TLS_KEY_FILE", ""),
	}
	c.Tracing = Tracing{
		Endpoint:  p.url("TRACING"),
		UseOTEL:   getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "",
		SpanNames: spanNames(getenv),
	}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		c.Tracing.Endpoint, c.Tracing.UseOTEL = "", false
	}
	c.PodName = p.str("POD_NAME", "")
	c.Namespace = p.str("POD_NAMESPACE", "")
	c.DevPorts = DevPorts{
		Processor: p.int("BARRAGE_PROCESSOR_PORT", 8081, 0, 65535),
	}
	if p.err != nil {
		return Config{}, p.err
	}
	return c, c.Validate()
}

// Validate checks what one variable alone cannot: settings that go together.
func (c Config) Validate() error {
	if (c.Kafka.User == "") != (c.Kafka.Password == "") {
		return fmt.Errorf("config: KAFKA_USER and KAFKA_PWD must be set together")
	}
	if (c.Kafka.CAFile != "" || c.Kafka.TLSServerName != "") && !c.Kafka.TLS {
		return fmt.Errorf("config: BARRAGE_KAFKA_CA_FILE and BARRAGE_KAFKA_TLS_SERVER_NAME need BARRAGE_KAFKA_TLS=true")
	}
	if (c.Broker.TLSCert == "") != (c.Broker.TLSKey == "") {
		return fmt.Errorf("config: BARRAGE_BROKER_TLS_CERT_FILE and BARRAGE_BROKER_TLS_KEY_FILE must be set together")
	}
	if c.OTS.Enabled() {
		for _, v := range []struct{ name, value string }{
			{"OTS_INSTANCENAME", c.OTS.Instance}, {"TABLE_NAME", c.OTS.Table},
			{"OTS_KEYID", c.OTS.KeyID}, {"OTS_SECRET", c.OTS.Secret},
		} {
			if v.value == "" {
				return fmt.Errorf("config: %s must be set when OTS_ENDPOINT is set", v.name)
			}
		}
	}
	needsBrokers := c.Role == RoleHomePage || c.Role == RoleDispatcher || c.Role == RoleDeadLetter || c.Role == RoleRedrive
	if needsBrokers && len(c.Kafka.Brokers) == 0 {
		return fmt.Errorf("config: KAFKA_SERVER must name at least one broker for the %s role", c.Role)
	}
	if c.Role == RoleDispatcher && c.Dispatch.Sink == "" {
		return fmt.Errorf("config: K_SINK must be the processor's URL for the dispatcher role")
	}
	if c.Dispatch.RetryMaxDelay <= 0 || c.Dispatch.RetryMaxDelay < c.Dispatch.RetryInterval {
		return fmt.Errorf("config: BARRAGE_RETRY_MAX_DELAY must be positive and at least BARRAGE_RETRY_INTERVAL")
	}
	if c.Dispatch.RequestTimeout <= 0 {
		return fmt.Errorf("config: BARRAGE_REQUEST_TIMEOUT must be positive")
	}
	// Outside dev the load sender would be open to anyone on the internet without a token.
	if c.Role == RoleHomePage && c.HomePage.LoadSender && c.Operator.Token == "" {
		return fmt.Errorf("config: BARRAGE_LOAD_SENDER=true needs BARRAGE_ADMIN_TOKEN outside the dev role")
	}
	if c.HomePage.LoadMaxDuration <= 0 {
		return fmt.Errorf("config: BARRAGE_LOAD_MAX_DURATION must be positive")
	}
	if c.HomePage.PollInterval <= 0 {
		return fmt.Errorf("config: BARRAGE_POLL_INTERVAL must be positive")
	}
	if c.MetricsPort != 0 && c.MetricsPort == c.Port {
		return fmt.Errorf("config: BARRAGE_METRICS_PORT must differ from PORT (%d), or be 0 to serve /metrics on PORT", c.Port)
	}
	// Notices read as barrages, or barrages as notices, would be refused or lost.
	if c.Kafka.NoticeTopic == "" || c.Kafka.NoticeTopic == c.Kafka.Topic || c.Kafka.NoticeTopic == c.Dispatch.DeadLetterTopic {
		return fmt.Errorf("config: BARRAGE_NOTICE_TOPIC must be set and differ from KAFKA_TOPIC and BARRAGE_DEAD_LETTER_TOPIC")
	}
	if c.ReadTimeout < 100*time.Millisecond {
		return fmt.Errorf("config: BARRAGE_READ_TIMEOUT must be at least 100ms")
	}
	for _, sub := range c.Processor.OIDC.Subjects {
		if !serviceAccountSubject.MatchString(sub) {
			return fmt.Errorf("config: BARRAGE_OIDC_SUBJECTS: %q is not system:serviceaccount:<namespace>:<name>", sub)
		}
	}
	if o := c.Processor.OIDC; o.Enabled() && c.Role == RoleDev {
		return fmt.Errorf("config: BARRAGE_OIDC_AUDIENCE is for the processor role; in dev mode the built-in dispatcher sends no token")
	}
	if u, err := url.Parse(c.Processor.OIDC.JWKSURL); c.Processor.OIDC.Enabled() && err == nil && u.Scheme != "https" {
		return fmt.Errorf("config: BARRAGE_OIDC_JWKS_URL must be https, so the keys that decide who may write cannot be swapped on the way")
	}
	if c.Retention < time.Hour {
		return fmt.Errorf("config: BARRAGE_RETENTION must be at least 1h")
	}
	return nil
}

// clientDefaults fills in what the client-address settings imply: the header when proxies
// or hops are given, and private networks as the proxies when only the header is.
func (h *HomePage) clientDefaults() {
	if h.ClientIPHeader == "" && (len(h.TrustedProxies) > 0 || h.TrustedHops > 0) {
		h.ClientIPHeader = "X-Forwarded-For"
	}
	if h.ClientIPHeader != "" && len(h.TrustedProxies) == 0 && h.TrustedHops == 0 {
		h.TrustedProxies = slices.Clone(privateNetworks)
	}
}

// spanNames keeps the seed's tracing variables as written, for telemetry to interpret.
func spanNames(getenv func(string) string) map[string]string {
	names := map[string]string{}
	for _, k := range []string{"PARENT_SPAN", "TRACE_NAME", "SUB_SPAN"} {
		if v := getenv(k); v != "" {
			names[k] = v
		}
		for i := 1; i <= 9; i++ {
			key := k + strconv.Itoa(i)
			if v := getenv(key); v != "" {
				names[key] = v
			}
		}
	}
	return names
}

// parser collects the first error so Parse reads as a list of settings.
type parser struct {
	getenv func(string) string
	err    error
}

func (p *parser) fail(name, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("config: %s %s", name, fmt.Sprintf(format, args...))
	}
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

// token reads a secret: it is never echoed in an error, only described.
func (p *parser) token(name string) string {
	v := p.getenv(name)
	if v == "" {
		return ""
	}
	if len(v) < MinAdminTokenLen {
		p.fail(name, "must be at least %d characters (for example the output of openssl rand -hex 32); it has %d", MinAdminTokenLen, len(v))
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			p.fail(name, "must be printable ASCII with no spaces or line breaks (a trailing newline is a common slip), so it fits an Authorization header")
			return ""
		}
	}
	return v
}

func (p *parser) list(name string) []string {
	var out []string
	for _, part := range strings.Split(p.getenv(name), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func (p *parser) int(name string, def, min, max int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		p.fail(name, "must be a whole number from %d to %d, not %q", min, max, v)
		return def
	}
	return n
}

func (p *parser) float(name string, def, min, max float64) float64 {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= min && f <= max) {
		p.fail(name, "must be a number from %g to %g, not %q", min, max, v)
		return def
	}
	return f
}

// prefixes reads comma-separated CIDRs and single addresses; IPv4-mapped IPv6 is IPv4.
func (p *parser) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range p.list(name) {
		pre, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil || a.Zone() != "" {
				p.fail(name, "must list CIDRs or addresses such as 10.0.0.0/8 or 127.0.0.1, not %q", v)
				return nil
			}
			a = a.Unmap()
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		if a := pre.Addr(); a.Is4In6() {
			if pre.Bits() < 96 {
				p.fail(name, "has an IPv4-mapped prefix shorter than /96: %q", v)
				return nil
			}
			pre = netip.PrefixFrom(a.Unmap(), pre.Bits()-96)
		}
		out = append(out, pre.Masked())
	}
	return out
}

// headerName reads an HTTP header name: letters, digits and '-'.
func (p *parser) headerName(name string) string {
	v := p.str(name, "")
	for _, r := range v {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			p.fail(name, "must be a header name such as X-Forwarded-For, not %q", v)
			return ""
		}
	}
	return v
}

func (p *parser) bool(name string, def bool) bool {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "must be true or false, not %q", v)
		return def
	}
	return b
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// The seed's annotations give plain seconds ("60"); accept those too.
		if n, nerr := strconv.Atoi(v); nerr == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		p.fail(name, "must be a duration such as 2s or 5m, not %q", v)
		return def
	}
	if d < 0 {
		p.fail(name, "must not be negative")
	}
	return d
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := p.str(name, def)
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	p.fail(name, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
	return def
}

func (p *parser) url(name string) string {
	v := p.str(name, "")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		p.fail(name, "must be an absolute URL such as http://host:port, not %q", v)
		return ""
	}
	return v
}

func (p *parser) urlOr(name, def string) string {
	if v := p.url(name); v != "" {
		return v
	}
	return def
}
