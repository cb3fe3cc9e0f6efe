package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
)

// testCA is a certificate authority made for one test, like a vendor's own root.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverCert issues a certificate valid for dnsName only, as a broker's certificate names
// its host while clients dial it by IP.
func (ca *testCA) serverCert(t *testing.T, dnsName string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrokerTLSWithVendorCA is Alibaba Kafka's SSL endpoint in small: TLS signed by a CA of
// its own, SASL PLAIN, brokers dialled by IP. The right CA and server name connect; every
// wrong setting fails with one line, and the password is in none of them.
func TestBrokerTLSWithVendorCA(t *testing.T) {
	const password = "pa55-w0rd-never-printed"
	vendor := newTestCA(t, "vendor root")
	stranger := newTestCA(t, "another root")
	b, err := StartBroker(BrokerOptions{
		Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"barrage-info"},
		TLS:  &tls.Config{Certificates: []tls.Certificate{vendor.serverCert(t, "kafka.vendor.test")}, MinVersion: tls.VersionTLS12},
		SASL: &SASLUser{Mechanism: "PLAIN", User: "alikafka_user", Password: password},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := config.Kafka{TLS: true, CAFile: vendor.file(t), TLSServerName: "kafka.vendor.test",
		User: "alikafka_user", Password: password, SASLMechanism: "PLAIN"}
	tests := []struct {
		name    string
		change  func(k *config.Kafka)
		wantErr string // "" connects
	}{
		{"right CA and server name", func(*config.Kafka) {}, ""},
		{"wrong CA", func(k *config.Kafka) { k.CAFile = stranger.file(t) }, "certificate signed by unknown authority"},
		{"system roots only", func(k *config.Kafka) { k.CAFile = "" }, "certificate signed by unknown authority"},
		{"no server name for an IP", func(k *config.Kafka) { k.TLSServerName = "" }, "127.0.0.1 because it doesn't contain any IP SANs"},
		{"wrong password", func(k *config.Kafka) { k.Password = "wrong-" + password }, "run out of available brokers"},
		{"CA file without a certificate", func(k *config.Kafka) { k.CAFile = empty }, "BARRAGE_KAFKA_CA_FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := base
			tc.change(&k)
			err := produceOnce(b.Addr(), k)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("did not connect: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one that says %q", err, tc.wantErr)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, password) {
				t.Fatalf("error is not one clean line: %q", msg)
			}
		})
	}
}

func produceOnce(addr string, k config.Kafka) error {
	cfg, err := NewConfig(k, "tls-test")
	if err != nil {
		return err
	}
	p, err := NewProducer([]string{addr}, "barrage-info", cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	b, _ := barrage.Accept("tls", barrage.Draft{Text: "over TLS"}, time.Now())
	return p.Produce(context.Background(), b)
}
