// Package otstest is a Tablestore (OTS) server for tests, speaking the service's wire
// protocol: HTTP POST /<Action> with otsprotocol protobuf bodies and rows in plainbuffer.
// It checks request signatures against its access key, keeps tables in memory with their
// TTL, answers errors as otsprotocol.Error bodies with the service's status codes, and can
// be told at run time to answer busy, fail with a 5xx or add latency, so the real SDK,
// retries included, runs against it.
package otstest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
)

// Options configure a Server. Empty fields get the defaults below.
type Options struct {
	Instance string // the one instance the server knows; default "barrage-test"
	KeyID    string // default "test-key-id"
	Secret   string // default "test-secret"
}

// Fault is an error the server answers instead of handling a request.
type Fault struct {
	Status  int
	Code    string
	Message string
	// AfterApply handles the request first and then answers the fault, as when the
	// service wrote a row but the answer was lost on the way back.
	AfterApply bool
}

// Common faults, as the service words them.
var (
	Busy          = Fault{Status: http.StatusServiceUnavailable, Code: "OTSServerBusy", Message: "Server is busy."}
	InternalError = Fault{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error."}
	Unavailable   = Fault{Status: http.StatusServiceUnavailable, Code: "OTSServerUnavailable", Message: "Server is not available."}
)

// Server is a running test server; URL is its endpoint.
type Server struct {
	*httptest.Server
	opts Options

	mu        sync.Mutex
	tables    map[string]*table
	fault     *Fault
	faultN    int // requests left to fail; <0 means until cleared
	intercept func(action string) *Fault
	now       func() time.Time

	latency  atomic.Int64 // nanoseconds added before each request
	requests sync.Map     // action -> *atomic.Int64
	faulted  atomic.Int64
	reqID    atomic.Int64
}

// Start runs a server until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := New(opts)
	tb.Cleanup(s.Close)
	return s
}

// New runs a server on a loopback port; Close stops it.
func New(opts Options) *Server { return Serve(opts, nil) }

// Serve runs a server on ln, or on a loopback port when ln is nil; Close stops it.
func Serve(opts Options, ln net.Listener) *Server {
	if opts.Instance == "" {
		opts.Instance = "barrage-test"
	}
	if opts.KeyID == "" {
		opts.KeyID = "test-key-id"
	}
	if opts.Secret == "" {
		opts.Secret = "test-secret"
	}
	s := &Server{opts: opts, tables: map[string]*table{}, now: time.Now}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if ln != nil {
		s.Listener.Close()
		s.Listener = ln
	}
	s.Start()
	return s
}

// Instance, KeyID and Secret are what a client must use.
func (s *Server) Instance() string { return s.opts.Instance }
func (s *Server) KeyID() string    { return s.opts.KeyID }
func (s *Server) Secret() string   { return s.opts.Secret }

// SetFault makes every request answer f until ClearFault; nil clears it.
func (s *Server) SetFault(f *Fault) { s.FailNext(-1, f) }

// FailNext makes the next n requests answer f (n < 0: until cleared).
func (s *Server) FailNext(n int, f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultN = f, n
}

// SetInterceptor calls fn for every authenticated request; a non-nil Fault is answered
// instead. Tests use it to fail one particular call, such as the second BatchWriteRow.
func (s *Server) SetInterceptor(fn func(action string) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = fn
}

// SetClock replaces the clock that stamps rows and applies the TTL, so tests can expire
// rows without waiting a day.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// ClearFault lets requests through again.
func (s *Server) ClearFault() { s.SetFault(nil) }

// SetLatency delays every request by d before it is handled.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Requests counts the requests for action (e.g. "PutRow") that passed authentication.
func (s *Server) Requests(action string) int64 {
	if c, ok := s.requests.Load(action); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// Faulted counts the requests answered with an injected fault.
func (s *Server) Faulted() int64 { return s.faulted.Load() }

func (s *Server) takeFault(action string) *Fault {
	s.mu.Lock()
	fn := s.intercept
	s.mu.Unlock()
	if fn != nil {
		if f := fn(action); f != nil {
			return f
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault == nil || s.faultN == 0 {
		return nil
	}
	f := s.fault
	if s.faultN > 0 {
		s.faultN--
		if s.faultN == 0 {
			s.fault = nil
		}
	}
	return f
}

// svcError is an error answered as an otsprotocol.Error body.
type svcError struct {
	status        int
	code, message string
}

func (e *svcError) Error() string { return e.code + ": " + e.message }

func errParam(format string, args ...any) *svcError {
	return &svcError{http.StatusBadRequest, "OTSParameterInvalid", fmt.Sprintf(format, args...)}
}

var (
	errAuthKey      = &svcError{http.StatusForbidden, "OTSAuthFailed", "The AccessKeyID does not exist."}
	errAuthInstance = &svcError{http.StatusForbidden, "OTSAuthFailed", "The instance is not found."}
	errAuthSign     = &svcError{http.StatusForbidden, "OTSAuthFailed", "Signature mismatch."}
	errAuthMD5      = &svcError{http.StatusForbidden, "OTSAuthFailed", "Mismatch between MD5 value of request body and x-ots-contentmd5 in header."}
	errNoTable      = &svcError{http.StatusNotFound, "OTSObjectNotExist", "Requested table does not exist."}
	errTableExists  = &svcError{http.StatusConflict, "OTSObjectAlreadyExist", "Requested table already exists."}
	errCondition    = &svcError{http.StatusForbidden, "OTSConditionCheckFail", "Condition check failed."}
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client gave up: the request is never applied
			t.Stop()
			return
		}
	}
	if r.Method != http.MethodPost {
		s.answerError(w, &svcError{http.StatusMethodNotAllowed, "OTSMethodNotAllowed", "Only POST method for requests is supported."})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 5<<20+1))
	if err != nil {
		return
	}
	if len(body) > 5<<20 {
		s.answerError(w, &svcError{http.StatusRequestEntityTooLarge, "OTSRequestBodyTooLarge", "The size of POST data is too large."})
		return
	}
	if e := s.authenticate(r, body); e != nil {
		s.answerError(w, e)
		return
	}
	action := strings.TrimPrefix(r.URL.Path, "/")
	c, _ := s.requests.LoadOrStore(action, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	f := s.takeFault(action)
	if f != nil && !f.AfterApply {
		s.faulted.Add(1)
		s.answerError(w, &svcError{f.Status, f.Code, f.Message})
		return
	}
	resp, e := s.handle(action, body)
	if f != nil {
		s.faulted.Add(1)
		s.answerError(w, &svcError{f.Status, f.Code, f.Message})
		return
	}
	if e != nil {
		s.answerError(w, e)
		return
	}
	out, err := proto.Marshal(resp)
	if err != nil {
		s.answerError(w, &svcError{http.StatusInternalServerError, "OTSInternalServerError", "encode response: " + err.Error()})
		return
	}
	s.answer(w, http.StatusOK, out)
}

func (s *Server) handle(action string, body []byte) (proto.Message, *svcError) {
	switch action {
	case "CreateTable":
		return s.createTable(body)
	case "DescribeTable":
		return s.describeTable(body)
	case "ListTable":
		return s.listTable()
	case "UpdateTable":
		return s.updateTable(body)
	case "DeleteTable":
		return s.deleteTable(body)
	case "PutRow":
		return s.putRow(body)
	case "GetRow":
		return s.getRow(body)
	case "BatchWriteRow":
		return s.batchWriteRow(body)
	case "GetRange":
		return s.getRange(body)
	}
	return nil, &svcError{http.StatusNotFound, "OTSUnsupportOperation", "Unsupported operation: '" + action + "'."}
}

// maxClockSkew is how far a request's x-ots-date may be from the server's clock.
const maxClockSkew = 15 * time.Minute

// signedHeaders are the request headers the signature covers, in the order it uses.
func signedHeaders(h http.Header) []string {
	var names []string
	for k := range h {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "x-ots-") && k != "x-ots-signature" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// authenticate checks the request the way the service does: headers present, body MD5,
// access key, instance, and the HMAC-SHA1 signature over path, method and x-ots-* headers.
func (s *Server) authenticate(r *http.Request, body []byte) *svcError {
	for _, h := range []string{"x-ots-date", "x-ots-apiversion", "x-ots-accesskeyid", "x-ots-contentmd5", "x-ots-instancename", "x-ots-signature"} {
		if r.Header.Get(h) == "" {
			return errParam("Missing header: '%s'.", h)
		}
	}
	date, err := time.Parse(time.RFC3339, r.Header.Get("x-ots-date"))
	if err != nil {
		return errParam("Invalid date format: %s.", r.Header.Get("x-ots-date"))
	}
	if d := time.Since(date); d > maxClockSkew || d < -maxClockSkew {
		return &svcError{http.StatusForbidden, "OTSAuthFailed", "Mismatch between system time and x-ots-date: " + r.Header.Get("x-ots-date") + "."}
	}
	sum := md5.Sum(body)
	if r.Header.Get("x-ots-contentmd5") != base64.StdEncoding.EncodeToString(sum[:]) {
		return errAuthMD5
	}
	if r.Header.Get("x-ots-accesskeyid") != s.opts.KeyID {
		return errAuthKey
	}
	if r.Header.Get("x-ots-instancename") != s.opts.Instance {
		return errAuthInstance
	}
	var b strings.Builder
	b.WriteString(r.URL.Path + "\n" + r.Method + "\n\n")
	for _, name := range signedHeaders(r.Header) {
		b.WriteString(name + ":" + strings.TrimSpace(r.Header.Get(name)) + "\n")
	}
	mac := hmac.New(sha1.New, []byte(s.opts.Secret))
	mac.Write([]byte(b.String()))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("x-ots-signature"))) {
		return errAuthSign
	}
	return nil
}

func (s *Server) answerError(w http.ResponseWriter, e *svcError) {
	out, _ := proto.Marshal(&otsprotocol.Error{Code: proto.String(e.code), Message: proto.String(e.message)})
	s.answer(w, e.status, out)
}

// answer writes a body with the headers the service sends; the SDK reads the request id.
func (s *Server) answer(w http.ResponseWriter, status int, body []byte) {
	sum := md5.Sum(body)
	h := w.Header()
	h.Set("x-ots-contentmd5", base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("x-ots-contenttype", "protocol buffer")
	h.Set("x-ots-date", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	h.Set("x-ots-requestid", "otstest-"+strconv.FormatInt(s.reqID.Add(1), 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
