package kafka

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is the embedded Kafka-protocol broker of dev mode: one node on addr, keeping its
// log and committed offsets under dataDir so a restart loses nothing.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// BrokerOptions configure the embedded broker.
type BrokerOptions struct {
	Addr       string   // host:port; port 0 picks a free one
	DataDir    string   // empty keeps everything in memory
	Partitions int      // partitions of each seeded topic
	Topics     []string // created on first start
	// TLS, when set, makes the broker speak only TLS, as a managed Kafka's SSL endpoint does.
	TLS *tls.Config
	// SASL, when set, is the one user the broker accepts, by mechanism (PLAIN or SCRAM-SHA-*).
	SASL *SASLUser
}

// SASLUser is a user the embedded broker accepts.
type SASLUser struct {
	Mechanism, User, Password string
}

// StartBroker starts the broker and returns once it accepts connections.
func StartBroker(o BrokerOptions) (*Broker, error) {
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("kafka: broker address %q: %w", o.Addr, err)
	}
	var portNum int
	if _, err := fmt.Sscanf(port, "%d", &portNum); err != nil {
		return nil, fmt.Errorf("kafka: broker port %q: %w", port, err)
	}
	opts := []kfake.Opt{
		kfake.Ports(portNum),
		kfake.SeedTopics(int32(o.Partitions), o.Topics...),
		kfake.ClusterID("barrage-dev"),
		// kfake binds 127.0.0.1; honour another host when one is asked for.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return listenAdvertised(network, host, port)
		}),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(filepath.Clean(o.DataDir)))
	}
	if o.TLS != nil {
		opts = append(opts, kfake.TLS(o.TLS))
	}
	if o.SASL != nil {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(o.SASL.Mechanism, o.SASL.User, o.SASL.Password))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start broker on %s: %w", o.Addr, err)
	}
	return &Broker{cluster: c, addr: c.ListenAddrs()[0]}, nil
}

// listenAdvertised listens on host:port. kfake advertises the listener's address, so a host
// given by name is reported by that name, as Kafka's advertised listeners are: a broker in a
// container is then reached, and its certificate checked, by its name.
func listenAdvertised(network, host, port string) (net.Listener, error) {
	ln, err := net.Listen(network, net.JoinHostPort(host, port))
	if err != nil || host == "" || net.ParseIP(host) != nil {
		return ln, err
	}
	_, bound, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	return namedListener{ln, namedAddr{network, net.JoinHostPort(host, bound)}}, nil
}

type namedListener struct {
	net.Listener
	addr namedAddr
}

func (l namedListener) Addr() net.Addr { return l.addr }

type namedAddr struct{ network, hostport string }

func (a namedAddr) Network() string { return a.network }
func (a namedAddr) String() string  { return a.hostport }

// Addr is the host:port clients dial.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and writes its state to disk.
func (b *Broker) Close() { b.cluster.Close() }
