package homepage

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr says how to tell who a client is. Proxies append the address they got a
// request from to the header, so only the entries written by proxies we trust can be
// believed; anything to their left is the client's own claim.
type ClientAddr struct {
	Header         string         // header proxies append the client address to; "" reads none
	TrustedProxies []netip.Prefix // peers whose Header entries are believed, IPv4 unmapped
	TrustedHops    int            // instead: the number of proxies in front, each appending one entry
}

// ClientKey is clientKey as text, for other parts that count per client.
func (a ClientAddr) ClientKey(r *http.Request) string { return a.clientKey(r).String() }

// clientKey is who the client behind r is: an IPv4 address or an IPv6 /64 (a single host
// is usually given a whole /64). It is a fixed-size value, never the header's text, so a
// stranger cannot make it hold memory. Peers that are not TCP (tests, pipes) share the
// zero key.
func (a ClientAddr) clientKey(r *http.Request) netip.Prefix {
	peer := parsePeer(r.RemoteAddr)
	client := peer
	if a.Header != "" {
		switch {
		case a.TrustedHops > 0:
			client = a.byHops(peer, r.Header.Values(a.Header))
		case a.trusted(peer):
			client = a.byProxies(peer, r.Header.Values(a.Header))
		}
	}
	return group(client)
}

// byProxies walks the header from the peer outward and stops at the first address that
// is not a trusted proxy: that one was written by a proxy we trust. A malformed entry was
// not written by a proxy, so the hop that passed it on is the client.
func (a ClientAddr) byProxies(peer netip.Addr, lines []string) netip.Addr {
	last := peer
	for e := range backward(lines) {
		addr, ok := parseEntry(e)
		if !ok {
			return last
		}
		if !a.trusted(addr) {
			return addr
		}
		last = addr
	}
	return last // every hop is a proxy of ours: the farthest one sent the request
}

// byHops takes the entry the first of TrustedHops proxies wrote. Fewer entries than hops
// means a shorter path than configured; the farthest entry is then the best we have.
func (a ClientAddr) byHops(peer netip.Addr, lines []string) netip.Addr {
	last, n := peer, 0
	for e := range backward(lines) {
		addr, ok := parseEntry(e)
		if !ok {
			return last
		}
		if n++; n == a.TrustedHops {
			return addr
		}
		last = addr
	}
	return last
}

func (a ClientAddr) trusted(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	for _, p := range a.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// backward yields the comma-separated entries of every header line, last first.
func backward(lines []string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for i := len(lines) - 1; i >= 0; i-- {
			v := lines[i]
			for {
				j := strings.LastIndexByte(v, ',')
				if !yield(v[j+1:]) {
					return
				}
				if j < 0 {
					break
				}
				v = v[:j]
			}
		}
	}
}

// parseEntry reads one header entry: an address, perhaps bracketed or with a port.
// Zones are refused: a proxy never writes one, and they would make every entry unique.
func parseEntry(e string) (netip.Addr, bool) {
	e = strings.Trim(e, " \t")
	if e == "" || len(e) > len("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535") || strings.ContainsRune(e, '%') {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(e); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(e); err == nil {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]") {
		if a, err := netip.ParseAddr(e[1 : len(e)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func parsePeer(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().WithZone("").Unmap()
}

// group is the key of addr: itself for IPv4, its /64 for IPv6.
func group(addr netip.Addr) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}
