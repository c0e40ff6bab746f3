package mdns

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/bpf"
)

var eth0 = net.Interface{Index: 2, MTU: 1500, Name: "eth0", Flags: net.FlagUp | net.FlagMulticast}

type wrote struct {
	ifIndex int
	dst     netip.AddrPort
	legacy  bool
}

func testCore(t *testing.T, fail func(dst netip.AddrPort) error) (*Core, *[]wrote) {
	var out []wrote
	c := NewCore(Backend{Interfaces: []net.Interface{eth0}, IPv4: true, IPv6: true, Write: func(msg []byte, ifIndex int, dst netip.AddrPort, legacy bool) error {
		if fail != nil {
			if err := fail(dst); err != nil {
				return err
			}
		}
		out = append(out, wrote{ifIndex, dst, legacy})
		return nil
	}})
	t.Cleanup(func() { c.Close() })
	return c, &out
}

// message packs a response with n TXT records of size bytes of data each.
func message(t *testing.T, n, size int) []byte {
	m := new(dns.Msg)
	m.Response = true
	for i := 0; i < n; i++ {
		data := make([]byte, size)
		for j := 0; j < size; j += 256 {
			data[j] = byte(min(255, size-j-1))
		}
		m.Answer = append(m.Answer, &dns.RFC3597{Hdr: dns.RR_Header{Name: "x.local.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Rdata: hexOf(data)})
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexOf(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}

// TestFanOut: every subscriber gets every packet; a full queue loses its
// own packets (counted), never another subscriber's; a packet from an
// interface that is not selected reaches nobody and is counted.
func TestFanOut(t *testing.T) {
	c, _ := testCore(t, nil)
	fast := c.Subscribe("fast", 10)
	slow := c.Subscribe("slow", 2)
	for i := 0; i < 5; i++ {
		c.Deliver(Packet{IfIndex: 2, Raw: []byte{byte(i)}})
	}
	c.Deliver(Packet{IfIndex: 7, Raw: []byte{9}})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		p, err := fast.Recv(ctx)
		if err != nil || p.Raw[0] != byte(i) {
			t.Fatalf("fast subscriber: packet %d = %v, %v", i, p.Raw, err)
		}
	}
	if fast.Dropped() != 0 || slow.Dropped() != 3 || slow.Delivered() != 2 {
		t.Errorf("dropped fast %d slow %d, delivered slow %d; want 0, 3, 2", fast.Dropped(), slow.Dropped(), slow.Delivered())
	}
	st := c.Stats()
	if st.Received != 6 || st.OtherInterface != 1 {
		t.Errorf("received %d, other interface %d; want 6, 1", st.Received, st.OtherInterface)
	}
	slow.Close()
	if _, err := slow.Recv(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv after Close = %v, want net.ErrClosed", err)
	}
	c.Close()
	if _, err := fast.Recv(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv after the core closed = %v, want net.ErrClosed", err)
	}
}

// TestSendEverywhere: a group send goes out on every selected interface
// and family; one to an interface that is not selected goes nowhere.
func TestSendEverywhere(t *testing.T) {
	c, out := testCore(t, nil)
	msg := message(t, 1, 10)
	if err := c.Send(msg, Dest{}); err != nil {
		t.Fatal(err)
	}
	want := []wrote{{2, netip.AddrPortFrom(GroupV4, Port), false}, {2, netip.AddrPortFrom(GroupV6, Port), false}}
	if len(*out) != 2 || (*out)[0] != want[0] || (*out)[1] != want[1] {
		t.Errorf("sent %v, want %v", *out, want)
	}
	err := c.Send(msg, Dest{IfIndex: 9})
	var se *SendErrors
	if !errors.As(err, &se) || se.Sent != 0 || !strings.Contains(err.Error(), "not selected") || len(*out) != 2 {
		t.Errorf("send on an unselected interface: %v, %d datagrams", err, len(*out))
	}
	if err := c.Send(msg, Dest{Addr: netip.MustParseAddrPort("10.88.0.9:40000"), IfIndex: 2, Legacy: true}); err != nil || (*out)[2].dst.Port() != 40000 || !(*out)[2].legacy {
		t.Errorf("unicast: %v %+v", err, *out)
	}
}

// TestSendErrorsReported: a family that fails is named with its error and
// counted; the other family's datagram still goes out and is counted.
func TestSendErrorsReported(t *testing.T) {
	c, out := testCore(t, func(dst netip.AddrPort) error {
		if dst.Addr().Is6() {
			return errors.New("network is unreachable")
		}
		return nil
	})
	err := c.Send(message(t, 1, 10), Dest{})
	var se *SendErrors
	if !errors.As(err, &se) || se.Sent != 1 || len(se.Failed) != 1 || se.Failed[0].Family != 6 {
		t.Fatalf("Send = %v", err)
	}
	if want := "send to [ff02::fb]:5353 on eth0 (IPv6): network is unreachable (1 other sends succeeded)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	st := c.Stats()
	if st.Sent != 1 || st.SendFailed != 1 || st.LastError == nil || len(*out) != 1 {
		t.Errorf("stats %+v, %d written", st, len(*out))
	}
}

// TestSizeRules: RFC 6762 §17. A message over the MTU with more than one
// record is refused before anything is sent; one record alone may go out
// fragmented; nothing over 9000 bytes with its headers goes out.
func TestSizeRules(t *testing.T) {
	c, out := testCore(t, nil)
	two := message(t, 2, 800) // 1,600+ bytes in two records
	err := c.Send(two, Dest{})
	var sz *SizeError
	if !errors.As(err, &sz) || sz.Records != 2 || len(*out) != 0 || c.Stats().Refused != 1 {
		t.Fatalf("two records over the MTU: %v, %d sent", err, len(*out))
	}
	if !strings.Contains(err.Error(), "only a single record may go out IP-fragmented (RFC 6762 §17)") {
		t.Errorf("error %q does not say why", err)
	}
	if err := c.Send(message(t, 1, 3000), Dest{}); err != nil || len(*out) != 2 {
		t.Errorf("one 3000-byte record: %v, %d sent; want it sent on both families", err, len(*out))
	}
	err = c.Send(message(t, 1, 8950), Dest{})
	if !errors.As(err, &sz) || !strings.Contains(err.Error(), "9000 bytes") {
		t.Errorf("one 8950-byte record: %v, want refused at 9000 bytes with headers", err)
	}
	if err := CheckSize([]byte{1, 2}, 1500, 4); err == nil {
		t.Error("a 2-byte message passed the size check")
	}
}

// TestQueryPackContinues: known answers that do not fit one packet
// continue in further packets, every one but the last with TC (RFC 6762
// §7.2); the questions are in the first only; nothing exceeds the limit.
func TestQueryPackContinues(t *testing.T) {
	q := Query{Questions: []Question{{Name: "_p2p._tcp.local.", Type: TypePTR}}}
	for i := 0; i < 100; i++ {
		q.Known = append(q.Known, KnownAnswer{Name: "_p2p._tcp.local.", Target: "instance number " + strings.Repeat("x", i%20) + "._p2p._tcp.local.", TTL: 4000})
	}
	msgs, err := q.Pack(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 3 {
		t.Fatalf("%d packets for 100 known answers in 1000 bytes each", len(msgs))
	}
	total := 0
	for i, b := range msgs {
		m, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1000 {
			t.Errorf("packet %d is %d bytes", i, len(b))
		}
		if m.Truncated() != (i < len(msgs)-1) {
			t.Errorf("packet %d of %d: TC %v", i+1, len(msgs), m.Truncated())
		}
		if (len(m.Questions) > 0) != (i == 0) {
			t.Errorf("packet %d has %d questions", i, len(m.Questions))
		}
		total += len(m.Answers)
	}
	if total != 100 {
		t.Errorf("%d known answers sent, want 100", total)
	}
	if _, err := (Query{Questions: make([]Question, 200)}).Pack(512); err == nil {
		t.Error("200 questions packed into 512 bytes")
	}
}

// ip4udp builds an IPv4+UDP packet (no checksums: the filter does not look).
func ip4udp(src, dst string, sport, dport uint16, frag uint16, payload []byte) []byte {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8], b[9] = 64, 17
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return b
}

func ip6udp(src, dst string, sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 48+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	b[6], b[7] = 17, 255
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	binary.BigEndian.PutUint16(b[40:], sport)
	binary.BigEndian.PutUint16(b[42:], dport)
	binary.BigEndian.PutUint16(b[44:], uint16(8+len(payload)))
	copy(b[48:], payload)
	return b
}

// TestUnicastFilter runs the packet-socket filter of Config.Observe in
// x/net/bpf's VM: unicast mDNS in both directions and families passes;
// multicast (the group sockets have it), other ports, other protocols and
// later fragments do not.
func TestUnicastFilter(t *testing.T) {
	vm, err := bpf.NewVM(unicastFilter())
	if err != nil {
		t.Fatal(err)
	}
	pl := []byte("0123456789ab")
	tests := []struct {
		name string
		pkt  []byte
		keep bool
	}{
		{"legacy query to 5353", ip4udp("10.88.0.1", "10.88.0.2", 40000, 5353, 0, pl), true},
		{"reply from 5353", ip4udp("10.88.0.2", "10.88.0.1", 5353, 40000, 0, pl), true},
		{"QU answer 5353 to 5353", ip4udp("10.88.0.2", "10.88.0.1", 5353, 5353, 0, pl), true},
		{"first fragment", ip4udp("10.88.0.2", "10.88.0.1", 5353, 5353, 0x2000, pl), true},
		{"multicast", ip4udp("10.88.0.2", "224.0.0.251", 5353, 5353, 0, pl), false},
		{"other port", ip4udp("10.88.0.2", "10.88.0.1", 53, 40000, 0, pl), false},
		{"later fragment", ip4udp("10.88.0.2", "10.88.0.1", 5353, 5353, 0x0010, pl), false},
		{"IPv6 unicast", ip6udp("fe80::2", "fe80::1", 5353, 5353, pl), true},
		{"IPv6 legacy", ip6udp("fd88::1", "fd88::2", 40000, 5353, pl), true},
		{"IPv6 multicast", ip6udp("fe80::2", "ff02::fb", 5353, 5353, pl), false},
		{"IPv6 other port", ip6udp("fe80::2", "fe80::1", 123, 124, pl), false},
		{"not IP", []byte{0x12, 0, 0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := vm.Run(tt.pkt)
			if err != nil {
				t.Fatal(err)
			}
			if (n > 0) != tt.keep {
				t.Errorf("filter kept %d bytes, want keep=%v", n, tt.keep)
			}
		})
	}
	tcp := ip4udp("10.88.0.1", "10.88.0.2", 40000, 5353, 0, pl)
	tcp[9] = 6
	if n, _ := vm.Run(tcp); n != 0 {
		t.Error("the filter kept TCP")
	}
}

func TestParseObserved(t *testing.T) {
	pl := []byte("0123456789ab")
	pkt := append(ip4udp("10.88.0.2", "10.88.0.1", 5353, 40000, 0, pl), 0, 0, 0, 0) // Ethernet padding
	src, dst, hops, payload, frag, ok := parseObserved(pkt)
	if !ok || frag || src.String() != "10.88.0.2:5353" || dst.String() != "10.88.0.1:40000" || hops != 64 || string(payload) != string(pl) {
		t.Errorf("IPv4: %v %v %d %q %v %v", src, dst, hops, payload, frag, ok)
	}
	_, _, _, _, frag, ok = parseObserved(ip4udp("10.88.0.2", "10.88.0.1", 5353, 5353, 0x2000, pl))
	if ok || !frag {
		t.Errorf("a first fragment: ok %v fragment %v, want a fragment not shown", ok, frag)
	}
	src, dst, hops, payload, _, ok = parseObserved(ip6udp("fe80::2", "fe80::1", 5353, 5353, pl))
	if !ok || src.String() != "[fe80::2]:5353" || dst.String() != "[fe80::1]:5353" || hops != 255 || string(payload) != string(pl) {
		t.Errorf("IPv6: %v %v %d %q %v", src, dst, hops, payload, ok)
	}
	if _, _, _, _, _, ok := parseObserved([]byte{0x45, 0}); ok {
		t.Error("a 2-byte packet parsed")
	}
}

// TestRecvContext: Recv returns the context's error when it ends first.
func TestRecvContext(t *testing.T) {
	c, _ := testCore(t, nil)
	s := c.Subscribe("x", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Recv = %v", err)
	}
}
