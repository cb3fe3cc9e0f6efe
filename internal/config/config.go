// Package config turns the environment contract (the seed's variable names, Knative's PORT
// and K_SINK, and BARRAGE_* for everything new) into one validated struct per process.
package config

import (
	"fmt"
	"net/url"
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
	}
	return "", fmt.Errorf("unknown role %q: want dev, homepage, processor, dispatcher or broker", s)
}

// Config is everything a process reads from its environment.
type Config struct {
	Role     Role
	Port     int    // PORT: the role's HTTP port
	Host     string // BARRAGE_HOST: the address HTTP servers bind to
	DataDir  string // BARRAGE_DATA_DIR: embedded store and broker data
	LogLevel string
	LogJSON  bool

	Kafka     Kafka
	OTS       OTS
	Retention time.Duration
	Dispatch  Dispatch
	Processor Processor
	HomePage  HomePage
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
	Topic         string   // KAFKA_TOPIC
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
	Audience  string // BARRAGE_OIDC_AUDIENCE: set, it turns verification on
	Issuer    string // BARRAGE_OIDC_ISSUER
	JWKSURL   string // BARRAGE_OIDC_JWKS_URL
	CAFile    string // BARRAGE_OIDC_CA_FILE: CA of the JWKS server
	TokenFile string // BARRAGE_OIDC_TOKEN_FILE: bearer token for the JWKS request
}

// Enabled reports whether sink requests must carry a token.
func (o OIDC) Enabled() bool { return o.Audience != "" }

// The pod's own service-account files, which a kube-apiserver's JWKS request needs.
const (
	ServiceAccountCA    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
	ServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"
)

// HomePage holds the page's and the load sender's settings.
type HomePage struct {
	LoadSender         bool          // BARRAGE_LOAD_SENDER
	LoadMaxConcurrent  int           // BARRAGE_LOAD_MAX_CONCURRENCY
	LoadMaxDuration    time.Duration // BARRAGE_LOAD_MAX_DURATION
	AllowedOrigins     []string      // BARRAGE_ALLOWED_ORIGINS
	PollInterval       time.Duration // BARRAGE_POLL_INTERVAL: how often a room's feed reads the store
	SendsPerSecond     float64       // BARRAGE_RATE_LIMIT: barrages per second per client; 0 is off
	SendBurst          int           // BARRAGE_RATE_BURST
	StreamsPerClient   int           // BARRAGE_MAX_STREAMS_PER_CLIENT
	ViewersPerRoom     int           // BARRAGE_MAX_VIEWERS_PER_ROOM
	ClientIPHeader     string        // BARRAGE_CLIENT_IP_HEADER: set by a trusted proxy, e.g. X-Forwarded-For
	StreamWriteTimeout time.Duration // BARRAGE_STREAM_WRITE_TIMEOUT: a viewer blocked this long is evicted
}

// Broker is the embedded Kafka-protocol broker.
type Broker struct {
	Addr       string // BARRAGE_BROKER_ADDR
	Partitions int    // BARRAGE_BROKER_PARTITIONS
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
	for _, v := range []string{c.Kafka.Password, c.OTS.Secret} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// defaultOrdering mirrors a KafkaSource (ordered) except in dev mode, where one process
// plays every part and in-flight deliveries let the processor batch its writes.
func defaultOrdering(r Role) string {
	if r == RoleDev {
		return "unordered"
	}
	return "ordered"
}

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
	}
	return 8080
}

// Parse reads the environment through getenv for role. It fails on the first bad value
// with an error that names the variable.
func Parse(role Role, getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{Role: role}
	c.Port = p.int("PORT", defaultPort(role), 0, 65535)
	c.Host = p.str("BARRAGE_HOST", "127.0.0.1")
	if getenv("K_SERVICE") != "" && getenv("BARRAGE_HOST") == "" {
		c.Host = "" // inside Knative the queue-proxy reaches us on the pod address
	}
	c.DataDir = p.str("BARRAGE_DATA_DIR", "./data")
	c.LogLevel = p.oneOf("BARRAGE_LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.LogJSON = p.oneOf("BARRAGE_LOG_FORMAT", "text", "text", "json") == "json"

	c.Kafka = Kafka{
		Brokers:       p.list("KAFKA_SERVER"),
		User:          p.str("KAFKA_USER", ""),
		Password:      p.str("KAFKA_PWD", ""),
		SASLMechanism: p.oneOf("BARRAGE_KAFKA_SASL_MECHANISM", "PLAIN", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
		TLS:           p.bool("BARRAGE_KAFKA_TLS", false),
		Topic:         p.str("KAFKA_TOPIC", "barrage-info"),
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
		RequestTimeout:  p.duration("BARRAGE_REQUEST_TIMEOUT", 60*time.Second),
		DeadLetterTopic: p.str("BARRAGE_DEAD_LETTER_TOPIC", "barrage-info-dead-letter"),
		InitialOffset:   p.oneOf("BARRAGE_INITIAL_OFFSET", "earliest", "earliest", "latest"),
		Ordering:        p.oneOf("BARRAGE_DELIVERY_ORDERING", defaultOrdering(role), "ordered", "unordered"),
		Concurrency:     p.int("BARRAGE_DELIVERY_CONCURRENCY", defaultConcurrency(role), 1, 10000),
	}
	c.Processor = Processor{
		SensitiveWords: p.list("BARRAGE_SENSITIVE_WORDS"),
		StoreWriters:   p.int("BARRAGE_STORE_WRITERS", defaultStoreWriters(c.OTS), 1, 64),
		OIDC: OIDC{
			Audience:  p.str("BARRAGE_OIDC_AUDIENCE", ""),
			Issuer:    p.urlOr("BARRAGE_OIDC_ISSUER", "https://kubernetes.default.svc"),
			JWKSURL:   p.urlOr("BARRAGE_OIDC_JWKS_URL", "https://kubernetes.default.svc/openid/v1/jwks"),
			CAFile:    p.str("BARRAGE_OIDC_CA_FILE", ServiceAccountCA),
			TokenFile: p.str("BARRAGE_OIDC_TOKEN_FILE", ServiceAccountToken),
		},
	}
	c.HomePage = HomePage{
		LoadSender:         p.bool("BARRAGE_LOAD_SENDER", true),
		LoadMaxConcurrent:  p.int("BARRAGE_LOAD_MAX_CONCURRENCY", 64, 1, 1024),
		LoadMaxDuration:    p.duration("BARRAGE_LOAD_MAX_DURATION", time.Minute),
		AllowedOrigins:     p.list("BARRAGE_ALLOWED_ORIGINS"),
		PollInterval:       p.duration("BARRAGE_POLL_INTERVAL", 250*time.Millisecond),
		SendsPerSecond:     float64(p.int("BARRAGE_RATE_LIMIT", 10, 0, 1_000_000)),
		SendBurst:          p.int("BARRAGE_RATE_BURST", 20, 1, 1_000_000),
		StreamsPerClient:   p.int("BARRAGE_MAX_STREAMS_PER_CLIENT", 32, 0, 1_000_000),
		ViewersPerRoom:     p.int("BARRAGE_MAX_VIEWERS_PER_ROOM", 20000, 1, 10_000_000),
		ClientIPHeader:     p.str("BARRAGE_CLIENT_IP_HEADER", ""),
		StreamWriteTimeout: p.duration("BARRAGE_STREAM_WRITE_TIMEOUT", 5*time.Second),
	}
	c.Broker = Broker{
		Addr:       p.str("BARRAGE_BROKER_ADDR", "127.0.0.1:9092"),
		Partitions: p.int("BARRAGE_BROKER_PARTITIONS", 4, 1, 1024),
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
	needsBrokers := c.Role == RoleHomePage || c.Role == RoleDispatcher
	if needsBrokers && len(c.Kafka.Brokers) == 0 {
		return fmt.Errorf("config: KAFKA_SERVER must name at least one broker for the %s role", c.Role)
	}
	if c.Role == RoleDispatcher && c.Dispatch.Sink == "" {
		return fmt.Errorf("config: K_SINK must be the processor's URL for the dispatcher role")
	}
	if c.Dispatch.RequestTimeout <= 0 {
		return fmt.Errorf("config: BARRAGE_REQUEST_TIMEOUT must be positive")
	}
	if c.HomePage.PollInterval <= 0 {
		return fmt.Errorf("config: BARRAGE_POLL_INTERVAL must be positive")
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
