// Package widearea runs DNS-SD over unicast DNS (RFC 6763 §11, "wide-area
// DNS-SD"): browse and registration domain enumeration, browsing and
// resolving by asking a DNS server (there is no push in plain DNS, so a
// browser polls at the records' TTLs), and registration by DNS UPDATE
// (RFC 2136) signed with TSIG (RFC 8945). The DNS server is the engine:
// this package is a careful client of it, and every record it reports
// comes from a reply it can name (server, transport, size).
package widearea

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// UDPSize is the EDNS0 buffer size advertised in every query: large enough
// for a long TXT record without TCP where the path allows it.
const UDPSize = 4096

// Client asks DNS servers questions: over UDP with EDNS0 (DNSSEC OK off)
// and again over TCP when a reply is truncated, each server in turn until
// one answers. The zero value is not usable: set Servers.
type Client struct {
	Servers []netip.AddrPort
	// Timeout bounds one try at one server (default 2 s); Tries is how
	// many rounds over the servers are made (default 2).
	Timeout time.Duration
	Tries   int

	queries, tcp, truncated, failures atomic.Uint64
}

// Stats counts what a Client sent.
type Stats struct {
	Queries   uint64 // messages sent over UDP
	TCP       uint64 // messages sent again over TCP (truncated replies)
	Truncated uint64 // UDP replies with TC set
	Failures  uint64 // tries that got no usable reply
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{c.queries.Load(), c.tcp.Load(), c.truncated.Load(), c.failures.Load()}
}

// Reply is a server's answer with where and how it came.
type Reply struct {
	Msg    *dns.Msg
	Parsed *mdns.Message // the same message parsed as bonjourctl parses mDNS: RDATA exactly as sent
	Server netip.AddrPort
	TCP    bool // it came over TCP (the UDP reply was truncated)
	Size   int  // bytes
	RTT    time.Duration
	At     time.Time
}

// Plane names where a reply came from, for output: "dns 10.88.0.9".
func (r *Reply) Plane() string { return "dns " + ServerString(r.Server) }

// Transport names how the reply came, as records name their interface:
// "dns/udp" or "dns/tcp".
func (r *Reply) Transport() string {
	if r.TCP {
		return "dns/tcp"
	}
	return "dns/udp"
}

// ServerString prints a server without its port when it is 53.
func ServerString(s netip.AddrPort) string {
	if s.Port() == 53 {
		return s.Addr().String()
	}
	return s.String()
}

// ParseServer reads "10.0.0.1", "10.0.0.1:5300", "fd00::1" or
// "[fd00::1]:53".
func ParseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("server %q is not an IP address or address:port", s)
	}
	return netip.AddrPortFrom(a, 53), nil
}

// ErrNoServer means no server gave a usable reply.
var ErrNoServer = errors.New("no DNS server answered")

// AnswerError is a reply that answers nothing: an rcode other than
// NOERROR and NXDOMAIN (SERVFAIL, REFUSED...). NXDOMAIN is an answer: the
// name does not exist.
type AnswerError struct {
	Name   string
	Type   uint16
	Rcode  int
	Server netip.AddrPort
}

func (e *AnswerError) Error() string {
	code := RcodeName(e.Rcode)
	return fmt.Sprintf("%s answered %s for %s %s", ServerString(e.Server), code, mdns.EscapeText(e.Name), dns.TypeToString[e.Type])
}

// RcodeName is an rcode's mnemonic ("SERVFAIL"), or its number.
func RcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rcode)
}

// Check returns an AnswerError when the reply answers nothing.
func (r *Reply) Check() error {
	if r.Msg.Rcode == dns.RcodeSuccess || r.Msg.Rcode == dns.RcodeNameError {
		return nil
	}
	var q dns.Question
	if len(r.Msg.Question) > 0 {
		q = r.Msg.Question[0]
	}
	return &AnswerError{Name: q.Name, Type: q.Qtype, Rcode: r.Msg.Rcode, Server: r.Server}
}

// Question builds a query for name and type, recursion desired (a stub
// resolver's question), EDNS0 with UDPSize and DO off.
func Question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(UDPSize, false)
	return m
}

// Ask sends a question for name and type and returns the first usable
// reply. A reply with an error rcode (NXDOMAIN, SERVFAIL...) is usable:
// it is the server's answer (Reply.Check tells which answer nothing).
func (c *Client) Ask(ctx context.Context, name string, qtype uint16) (*Reply, error) {
	return c.Exchange(ctx, Question(name, qtype), nil)
}

// Lookup is Ask for a browser: a reply that answers nothing (SERVFAIL,
// REFUSED...) is an error too, so that it is never taken for "no records".
func (c *Client) Lookup(ctx context.Context, name string, qtype uint16) (*Reply, error) {
	r, err := c.Ask(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Exchange sends m to each server in turn (Tries rounds) and returns the
// first reply; over UDP first, then TCP when the reply is truncated. tsig,
// when not nil, signs the message and checks the reply's signature.
func (c *Client) Exchange(ctx context.Context, m *dns.Msg, tsig *TSIG) (*Reply, error) {
	if len(c.Servers) == 0 {
		return nil, fmt.Errorf("%w: no server given", ErrNoServer)
	}
	timeout, tries := c.Timeout, c.Tries
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	if tries <= 0 {
		tries = 2
	}
	var last error
	for try := 0; try < tries; try++ {
		for _, s := range c.Servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := c.exchangeOne(ctx, m, s, timeout, tsig)
			if err == nil {
				return r, nil
			}
			c.failures.Add(1)
			last = fmt.Errorf("%s: %w", ServerString(s), err)
			var se *SignatureError
			if errors.As(err, &se) {
				return nil, err // the server answered; asking again will not change it
			}
		}
	}
	return nil, fmt.Errorf("%w (%d tries at %d server(s)); last: %w", ErrNoServer, tries, len(c.Servers), last)
}

func (c *Client) exchangeOne(ctx context.Context, m *dns.Msg, s netip.AddrPort, timeout time.Duration, tsig *TSIG) (*Reply, error) {
	c.queries.Add(1)
	r, err := c.roundTrip(ctx, "udp", m, s, timeout, tsig)
	if err != nil || !r.Msg.Truncated {
		return r, err
	}
	c.truncated.Add(1)
	c.tcp.Add(1)
	r, err = c.roundTrip(ctx, "tcp", m, s, timeout, tsig)
	if r != nil {
		r.TCP = true
	}
	return r, err
}

// roundTrip sends m once over network and reads its reply: the raw bytes
// are kept so that TXT RDATA is exactly what the server sent.
func (c *Client) roundTrip(ctx context.Context, network string, m *dns.Msg, s netip.AddrPort, timeout time.Duration, tsig *TSIG) (*Reply, error) {
	addr := net.JoinHostPort(s.Addr().String(), strconv.Itoa(int(s.Port())))
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	co := &dns.Conn{Conn: conn, UDPSize: UDPSize}
	var out []byte
	var mac string
	if tsig != nil {
		tsig.sign(m)
		out, mac, err = dns.TsigGenerate(m, tsig.Secret, "", false)
	} else {
		out, err = m.Pack()
	}
	if err != nil {
		return nil, fmt.Errorf("packing the %s: %w", opName(m), err)
	}
	start := time.Now()
	if _, err := co.Write(out); err != nil {
		return nil, err
	}
	for {
		raw, err := co.ReadMsgHeader(nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		resp := new(dns.Msg)
		if err := resp.Unpack(raw); err != nil {
			return nil, fmt.Errorf("malformed reply (%d bytes): %w", len(raw), err)
		}
		if resp.Id != m.Id || !resp.Response {
			continue // not ours (a late reply to an earlier try)
		}
		if tsig != nil {
			if err := tsig.verify(raw, resp, mac); err != nil {
				return nil, err
			}
		}
		parsed, err := mdns.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("reply: %w", err)
		}
		return &Reply{Msg: resp, Parsed: parsed, Server: s, Size: len(raw), RTT: time.Since(start), At: time.Now()}, nil
	}
}

func opName(m *dns.Msg) string {
	if m.Opcode == dns.OpcodeUpdate {
		return "update"
	}
	return "query"
}
