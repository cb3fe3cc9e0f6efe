// Package kafka holds what the pipeline needs of Kafka: client settings from the
// environment contract, the producer the HomePage sends through, the record format, and the
// embedded Kafka-protocol broker that dev mode runs.
package kafka

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"

	"github.com/barrage-live/barrage/internal/config"
)

// ErrUnavailable wraps failures to hand a record to Kafka that a later try may cure. The
// HomePage answers them with 503 and Retry-After.
var ErrUnavailable = errors.New("kafka unavailable")

// NewConfig returns sarama settings for the given brokers and client id: SASL and TLS
// from the environment, and timeouts short enough that a dead broker is noticed in
// seconds rather than minutes.
func NewConfig(k config.Kafka, clientID string) (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Net.DialTimeout = 3 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 2
	c.Metadata.Retry.Backoff = 200 * time.Millisecond
	if k.TLS {
		tc, err := tlsConfig(k)
		if err != nil {
			return nil, err
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	if k.User != "" {
		c.Net.SASL.Enable = true
		c.Net.SASL.User = k.User
		c.Net.SASL.Password = k.Password
		switch k.SASLMechanism {
		case "SCRAM-SHA-256":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			c.Net.SASL.SCRAMClientGeneratorFunc = scramClient(sha256.New)
		case "SCRAM-SHA-512":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			c.Net.SASL.SCRAMClientGeneratorFunc = scramClient(sha512.New)
		default:
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: settings: %w", err)
	}
	return c, nil
}

// Durable returns a copy of cfg for a producer that must neither lose nor repeat a record:
// idempotent, acknowledged by every in-sync replica, with its successes reported.
func Durable(cfg *sarama.Config) *sarama.Config {
	c := *cfg
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 5
	c.Net.MaxOpenRequests = 1 // required for idempotence
	return &c
}

// tlsConfig trusts the system roots plus the CA bundle of BARRAGE_KAFKA_CA_FILE: a managed
// Kafka's SSL endpoint may be signed by its vendor's own root, as Alibaba's is.
func tlsConfig(k config.Kafka) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: k.TLSServerName}
	if k.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(k.CAFile)
	if err != nil {
		return nil, fmt.Errorf("kafka: CA bundle (BARRAGE_KAFKA_CA_FILE): %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("kafka: CA bundle %s (BARRAGE_KAFKA_CA_FILE) holds no PEM certificate", k.CAFile)
	}
	tc.RootCAs = roots
	return tc, nil
}

// scramConversation adapts xdg-go/scram to sarama's SCRAM client interface.
type scramConversation struct {
	hash func() hash.Hash
	conv *scram.ClientConversation
}

func scramClient(h func() hash.Hash) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramConversation{hash: h} }
}

func (s *scramConversation) Begin(user, password, authzID string) error {
	client, err := scram.HashGeneratorFcn(s.hash).NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = client.NewConversation()
	return nil
}

func (s *scramConversation) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramConversation) Done() bool                            { return s.conv.Done() }
