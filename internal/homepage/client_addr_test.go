package homepage

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientKey(t *testing.T) {
	proxies := ClientAddr{Header: "X-Forwarded-For", TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("fd00::/8"),
	}}
	twoHops := ClientAddr{Header: "X-Forwarded-For", TrustedHops: 2}
	tests := []struct {
		name   string
		addr   ClientAddr
		peer   string
		header []string
		want   string
	}{
		{"no header setting: the peer", ClientAddr{}, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9/32"},
		{"untrusted peer: header ignored", proxies, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9/32"},
		{"one proxy: the entry it appended", proxies, "10.1.1.1:80", []string{"198.51.100.1"}, "198.51.100.1/32"},
		{"forged leftmost is ignored", proxies, "10.1.1.1:80", []string{"1.2.3.4, 5.6.7.8, 198.51.100.1"}, "198.51.100.1/32"},
		{"proxies are skipped", proxies, "127.0.0.1:80", []string{"6.6.6.6, 198.51.100.1, 10.0.0.5, 10.0.0.6"}, "198.51.100.1/32"},
		{"lines are one list, in order", proxies, "127.0.0.1:80", []string{"6.6.6.6, 198.51.100.1", "10.0.0.5"}, "198.51.100.1/32"},
		{"a later line is nearer the peer", proxies, "127.0.0.1:80", []string{"198.51.100.1", "203.0.113.50, 10.0.0.5"}, "203.0.113.50/32"},
		{"every hop trusted: the farthest", proxies, "127.0.0.1:80", []string{"10.0.0.7, 10.0.0.5"}, "10.0.0.7/32"},
		{"no header from a proxy: the proxy", proxies, "10.9.9.9:80", nil, "10.9.9.9/32"},
		{"malformed entry: the hop that passed it", proxies, "127.0.0.1:80", []string{"198.51.100.1, garbage, 10.0.0.5"}, "10.0.0.5/32"},
		{"malformed at the peer: the peer", proxies, "127.0.0.1:80", []string{"not-an-ip"}, "127.0.0.1/32"},
		{"zone refused", proxies, "127.0.0.1:80", []string{"fe80::1%eth0"}, "127.0.0.1/32"},
		{"empty entry is malformed", proxies, "127.0.0.1:80", []string{"198.51.100.1,"}, "127.0.0.1/32"},
		{"port and brackets", proxies, "127.0.0.1:80", []string{"[2001:db8::1]:443"}, "2001:db8::/64"},
		{"v4 with port", proxies, "127.0.0.1:80", []string{"198.51.100.1:1234"}, "198.51.100.1/32"},
		{"IPv6 grouped by /64", proxies, "127.0.0.1:80", []string{"2001:db8:1:2:aaaa:bbbb:cccc:dddd"}, "2001:db8:1:2::/64"},
		{"IPv4-mapped is IPv4", proxies, "127.0.0.1:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1/32"},
		{"mapped peer is IPv4", proxies, "[::ffff:10.1.1.1]:80", []string{"198.51.100.1"}, "198.51.100.1/32"},
		{"IPv6 peer grouped", ClientAddr{}, "[2001:db8:5:6::1]:80", nil, "2001:db8:5:6::/64"},
		{"trusted IPv6 proxy", proxies, "[fd00::1]:80", []string{"2001:db8::7, fd00::2"}, "2001:db8::/64"},
		{"two hops: the first proxy's entry", twoHops, "203.0.113.9:80", []string{"6.6.6.6, 198.51.100.1, 10.0.0.5"}, "198.51.100.1/32"},
		{"two hops, shorter path: the farthest", twoHops, "203.0.113.9:80", []string{"198.51.100.1"}, "198.51.100.1/32"},
		{"two hops, malformed: the hop after it", twoHops, "203.0.113.9:80", []string{"6.6.6.6, bad, 10.0.0.5"}, "10.0.0.5/32"},
		{"peer not TCP: the zero key", ClientAddr{}, "pipe", nil, "invalid Prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.header {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.addr.clientKey(r).String(); got != tt.want {
				t.Fatalf("key %s, want %s", got, tt.want)
			}
		})
	}
}

// The key derivation runs on every request; an attacker's header must not make it allocate.
func TestClientKeyDoesNotAllocate(t *testing.T) {
	a := ClientAddr{Header: "X-Forwarded-For", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:80"
	r.Header.Set("X-Forwarded-For", "garbage, 2001:db8::1, 198.51.100.1, 10.0.0.2, 10.0.0.3")
	if n := testing.AllocsPerRun(100, func() { a.clientKey(r) }); n != 0 {
		t.Fatalf("%v allocations per key", n)
	}
}

// FuzzClientKey: whatever the header holds, the key is the peer's or that of an address
// the header really lists, and always an IPv4 address or an IPv6 /64.
func FuzzClientKey(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "1.2.3.4, 10.0.0.1", "garbage,,", "[::1]:80, fe80::1%eth0", "::ffff:10.0.0.1", ",", ""} {
		f.Add(s, "10.0.0.9:80")
	}
	a := ClientAddr{Header: "X-Forwarded-For", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, header, peer string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", header)
		got := a.clientKey(r)
		if !got.IsValid() {
			if parsePeer(peer).IsValid() {
				t.Fatalf("zero key for peer %q", peer)
			}
			return
		}
		if b := got.Bits(); !(got.Addr().Is4() && b == 32 || got.Addr().Is6() && b == 64) {
			t.Fatalf("key %s is neither an IPv4 address nor an IPv6 /64", got)
		}
		if got == group(parsePeer(peer)) {
			return
		}
		for e := range backward([]string{header}) {
			if addr, ok := parseEntry(e); ok && group(addr) == got {
				return
			}
		}
		t.Fatalf("key %s is neither the peer %q nor listed in %q", got, peer, header)
	})
}
