// Package sinkauth checks the OIDC tokens Knative Eventing sends to a sink when its
// authentication-oidc feature is on: a JWT for the sink's audience, signed by the cluster's
// service-account issuer. Any sink (the processor, the dead-letter receiver) wraps its
// handler with Verifier.Wrap.
package sinkauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Options say which tokens to accept and where the issuer's keys are.
type Options struct {
	Audience string // the sink's audience, as the source's sink.audience names it
	// Subjects, when given, are the only senders accepted, by sub claim
	// (system:serviceaccount:<namespace>:<name>): any pod may ask for a token for any
	// audience, so the audience alone admits every workload of the cluster.
	Subjects []string
	Issuer   string // the iss claim, e.g. https://kubernetes.default.svc
	JWKSURL  string // where the keys are; the issuer's name need not resolve here
	// CAFile is the PEM bundle the JWKS server's certificate must chain to; empty uses the
	// system roots.
	CAFile string
	// TokenFile holds the bearer token sent with the JWKS request, read again on each
	// fetch because projected service-account tokens rotate; empty sends none.
	TokenFile string
	// MinRefresh is the shortest gap between two key fetches (default 10s). A token with an
	// unknown key id or a bad signature makes go-oidc fetch the keys again; without a gap a
	// stranger's garbage would turn every request into a request to the API server.
	MinRefresh time.Duration
	// Now is the clock that expiry is checked against; nil is time.Now.
	Now func() time.Time
}

// Verifier checks tokens against the issuer's keys, fetched lazily and cached.
type Verifier struct {
	opts     Options
	verifier *oidc.IDTokenVerifier
	fetcher  *keyFetcher
	log      *slog.Logger
	rejects  *sampler
}

// ErrKeysUnavailable means the issuer's keys could not be fetched, so no token can be
// checked; the caller should answer 503 so the source retries.
var ErrKeysUnavailable = errors.New("sinkauth: the issuer's keys cannot be fetched")

// New builds a Verifier. It fetches nothing: keys are fetched on the first token.
func New(opts Options, log *slog.Logger) (*Verifier, error) {
	if opts.Audience == "" || opts.Issuer == "" || opts.JWKSURL == "" {
		return nil, errors.New("sinkauth: audience, issuer and JWKS URL are all required")
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = 10 * time.Second
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sinkauth: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sinkauth: CA file %s holds no PEM certificate", opts.CAFile)
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	f := &keyFetcher{base: base, url: opts.JWKSURL, tokenFile: opts.TokenFile, minGap: opts.MinRefresh, log: log}
	client := &http.Client{Transport: f, Timeout: 10 * time.Second}
	keys := &keySet{inner: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), opts.JWKSURL)}
	v := &Verifier{
		opts:    opts,
		fetcher: f,
		log:     log,
		rejects: &sampler{every: 10 * time.Second},
		verifier: oidc.NewVerifier(opts.Issuer, keys, &oidc.Config{
			ClientID: opts.Audience,
			// What a kube-apiserver signs with: RSA or ECDSA service-account keys.
			SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
			Now:                  opts.Now,
		}),
	}
	return v, nil
}

// Verify checks raw and returns its subject (for Knative, the source's service account).
// A token that is not valid for the audience fails with an error that is not
// ErrKeysUnavailable.
func (v *Verifier) Verify(ctx context.Context, raw string) (string, error) {
	st := &verifyState{}
	tok, err := v.verifier.Verify(context.WithValue(ctx, stateKey{}, st), raw)
	if st.keysErr != nil {
		return "", fmt.Errorf("%w: %w", ErrKeysUnavailable, st.keysErr)
	}
	if err != nil {
		return "", fmt.Errorf("sinkauth: %w", err)
	}
	if len(v.opts.Subjects) > 0 && !slices.Contains(v.opts.Subjects, tok.Subject) {
		return "", fmt.Errorf("sinkauth: subject %q is not an accepted sender", tok.Subject)
	}
	return tok.Subject, nil
}
