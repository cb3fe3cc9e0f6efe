package sinkauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// errFetch marks a key fetch that failed; keySet turns it into ErrKeysUnavailable.
var errFetch = errors.New("key fetch failed")

// errRefreshLimited refuses a fetch soon after one that worked: the cached keys are fresh,
// so a token they do not verify is simply not valid.
var errRefreshLimited = errors.New("keys were fetched moments ago")

type stateKey struct{}

// verifyState carries, for one Verify call, whether the keys could not be fetched: go-oidc
// flattens the cause into text, so it is caught here on its way up.
type verifyState struct{ keysErr error }

// keySet is go-oidc's RemoteKeySet, watched for fetch failures.
type keySet struct{ inner *oidc.RemoteKeySet }

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if err != nil && errors.Is(err, errFetch) {
		if st, ok := ctx.Value(stateKey{}).(*verifyState); ok {
			st.keysErr = err
		}
	}
	return payload, err
}

// keyFetcher is the JWKS client's transport: it adds the bearer token, spaces fetches at
// least minGap apart, turns a non-200 answer into an error and logs each outcome.
type keyFetcher struct {
	base      http.RoundTripper
	url       string
	tokenFile string
	minGap    time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	last    time.Time
	lastErr error
	tried   bool
}

func (f *keyFetcher) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	if f.tried && time.Since(f.last) < f.minGap {
		lastErr := f.lastErr
		f.mu.Unlock()
		if lastErr != nil {
			return nil, lastErr
		}
		return nil, errRefreshLimited
	}
	f.tried, f.last = true, time.Now()
	f.mu.Unlock()

	resp, err := f.do(req)
	f.mu.Lock()
	f.lastErr = err
	f.mu.Unlock()
	if err != nil {
		f.log.Error("cannot fetch the issuer's keys; sink requests get 503 until it works",
			"url", f.url, "retryIn", f.minGap.String(), "err", err)
		return nil, err
	}
	f.log.Info("fetched the issuer's keys", "url", f.url)
	return resp, nil
}

// do sends req with the token from tokenFile; any answer but 200 is an error.
func (f *keyFetcher) do(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if f.tokenFile != "" {
		tok, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("sinkauth: %w: token file: %w", errFetch, err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("sinkauth: %w: GET %s: %w", errFetch, f.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("sinkauth: %w: GET %s: %s: %s", errFetch, f.url, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

// Check fetches the keys once, outside the refresh spacing and go-oidc's cache, and
// reports how many there are: a start-up probe whose outcome goes to the log.
func (v *Verifier) Check(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return 0, fmt.Errorf("sinkauth: JWKS URL: %w", err)
	}
	resp, err := v.fetcher.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return 0, fmt.Errorf("sinkauth: %w: decode %s: %w", errFetch, v.opts.JWKSURL, err)
	}
	if len(set.Keys) == 0 {
		return 0, fmt.Errorf("sinkauth: %w: %s lists no keys", errFetch, v.opts.JWKSURL)
	}
	return len(set.Keys), nil
}
