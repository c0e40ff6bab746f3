package pcapfile

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/ipudp"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// pcapFile builds a little-endian classic pcap of link type raw IP; each
// frame is written with the captured length it has unless caplen says
// otherwise (a lie, for the tests).
type pcapFile struct {
	b bytes.Buffer
}

func newPcap(snaplen uint32, link uint32) *pcapFile {
	p := &pcapFile{}
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], link)
	p.b.Write(h)
	return p
}

func (p *pcapFile) frame(at time.Time, data []byte, caplen uint32) *pcapFile {
	h := make([]byte, 16)
	binary.LittleEndian.PutUint32(h, uint32(at.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(at.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], caplen)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(data)))
	p.b.Write(h)
	p.b.Write(data)
	return p
}

// ngFile builds a little-endian pcapng.
type ngFile struct{ b bytes.Buffer }

func (n *ngFile) block(typ uint32, body []byte) *ngFile {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	n.b.Write(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, typ), l))
	n.b.Write(body)
	n.b.Write(binary.LittleEndian.AppendUint32(nil, l))
	return n
}

func newNg() *ngFile {
	n := &ngFile{}
	shb := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	shb = binary.LittleEndian.AppendUint16(shb, 1)
	shb = binary.LittleEndian.AppendUint16(shb, 0)
	shb = binary.LittleEndian.AppendUint64(shb, ^uint64(0))
	return n.block(0x0a0d0d0a, shb)
}

// iface adds an interface description block (raw IP) with options.
func (n *ngFile) iface(snaplen uint32, name string, tsres byte) *ngFile {
	b := binary.LittleEndian.AppendUint16(nil, 101)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, snaplen)
	opt := func(code uint16, v []byte) {
		b = binary.LittleEndian.AppendUint16(b, code)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	opt(2, []byte(name))
	opt(9, []byte{tsres})
	b = append(b, 0, 0, 0, 0)
	return n.block(1, b)
}

func (n *ngFile) epb(ifid uint32, ts uint64, data []byte, caplen uint32) *ngFile {
	b := binary.LittleEndian.AppendUint32(nil, ifid)
	b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts))
	b = binary.LittleEndian.AppendUint32(b, caplen)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return n.block(6, append(b, data...))
}

func mdnsIP(payload []byte) []byte {
	return ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.AddrPortFrom(mdns.GroupV4, 5353), 255, payload)
}

// readFile reads b to the end and returns the packets, the error that
// ended it (nil at a clean end) and the reader's account.
func readFile(t *testing.T, b []byte) ([]mdns.Packet, Stats, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, Stats{}, err
	}
	var pkts []mdns.Packet
	for {
		p, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return pkts, r.Stats(), nil
		}
		if err != nil {
			return pkts, r.Stats(), err
		}
		pkts = append(pkts, p)
	}
}

func TestLyingLengths(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ip := mdnsIP(make([]byte, 12))
	var fe *FormatError
	cases := []struct {
		name    string
		file    []byte
		packets int
		err     string // "" for a clean end
		frame   int
		offset  int64
	}{
		{"pcap snaplen 0xFFFFFFFF", newPcap(0xffffffff, 101).frame(t0, ip, uint32(len(ip))).b.Bytes(), 1, "", 0, 0},
		{"pcap caplen 0xFFFFFFFF", newPcap(65535, 101).frame(t0, ip, uint32(len(ip))).frame(t0, ip, 0xffffffff).b.Bytes(), 1,
			"frame 2 (offset 80): the record header says 4294967295 bytes were captured; a frame holds at most 262144", 2, 24 + 16 + int64(len(ip))},
		{"pcap caplen over the snaplen (tools read it)", newPcap(20, 101).frame(t0, ip, uint32(len(ip))).b.Bytes(), 1, "", 0, 0},
		{"pcapng snaplen 0xFFFFFFFF", newNg().iface(0xffffffff, "eth0", 6).epb(0, 1, ip, uint32(len(ip))).b.Bytes(), 1, "", 0, 0},
		{"pcapng caplen 0xFFFFFFFF", newNg().iface(0, "eth0", 6).epb(0, 1, ip, 0xffffffff).b.Bytes(), 0,
			"frame 1 (offset 68): the packet block says 4294967295 bytes were captured but holds 40", 1, 68},
		{"pcapng interface out of range", newNg().iface(0, "eth0", 6).epb(3, 1, ip, uint32(len(ip))).b.Bytes(), 0,
			"frame 1 (offset 68): packet on interface 3, but the section describes 1 interfaces", 1, 68},
		{"pcapng block length not a multiple of 4", func() []byte {
			n := newNg().iface(0, "eth0", 6).epb(0, 1, ip, uint32(len(ip)))
			b := n.b.Bytes()
			binary.LittleEndian.PutUint32(b[68+4:], 13)
			return b
		}(), 0, "frame 1 (offset 68): block of type 0x6 says it is 13 bytes long", 1, 68},
		{"pcapng out of step (lengths disagree)", func() []byte {
			n := newNg().iface(0, "eth0", 6).epb(0, 1, ip, uint32(len(ip))).epb(0, 2, ip, uint32(len(ip)))
			b := n.b.Bytes()
			binary.LittleEndian.PutUint32(b[68+4:], binary.LittleEndian.Uint32(b[68+4:])+4)
			return b
		}(), 0, "is 76 bytes long by its start but 6 by its end: the file is damaged", 1, 68},
		{"pcapng 20 MB block of an unknown kind", func() []byte {
			n := newNg().iface(0, "eth0", 6)
			n.b.Write([]byte{0xff, 0, 0, 0, 0, 0, 0x40, 0x01})
			return n.b.Bytes()
		}(), 0, "offset 68: block of type 0xff says it is 20971520 bytes long", 0, 68},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkts, _, err := readFile(t, c.file)
			if len(pkts) != c.packets {
				t.Errorf("%d packets, want %d", len(pkts), c.packets)
			}
			switch {
			case c.err == "" && err != nil:
				t.Errorf("error %v, want a clean end", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("error %v, want one containing %q", err, c.err)
			case c.err != "" && (!errors.As(err, &fe) || fe.Frame != c.frame || fe.Offset != c.offset):
				t.Errorf("error %#v, want frame %d offset %d", err, c.frame, c.offset)
			}
		})
	}
}

// TestGzipBomb: a small gzip that expands past the ratio is refused with
// the figures, not read for minutes.
func TestGzipBomb(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(newPcap(65535, 101).b.Bytes())
	zero := make([]byte, 1<<20)
	for range 80 { // 80 MiB of empty records
		zw.Write(zero)
	}
	zw.Close()
	_, st, err := readFile(t, gz.Bytes())
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "looks like a decompression bomb") {
		t.Fatalf("gzip of %d bytes expanding to 80 MiB: %v, want the bomb refused", gz.Len(), err)
	}
	if st.Frames == 0 || st.Skipped.NotIP+st.Skipped.Malformed != st.Frames {
		t.Errorf("frames before the refusal are accounted for: %+v", st)
	}
}

// TestFragments: a 3.7 KB response in three IPv4 fragments (as a
// responder with a big TXT sends it) reads as one packet; with a fragment
// missing, the others are counted as skipped, never lost silently.
func TestFragments(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	m := new(mdns.Message)
	_ = m
	payload := bytes.Repeat([]byte{0xab}, 3700)
	whole := mdnsIP(payload)
	whole[6] = 0 // DF off: may be fragmented
	frags := fragment4(whole, 1500)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	f := newPcap(65535, 101)
	for _, fr := range frags {
		f.frame(t0, fr, uint32(len(fr)))
	}
	pkts, st, err := readFile(t, f.b.Bytes())
	if err != nil || len(pkts) != 1 || !bytes.Equal(pkts[0].Raw, payload) {
		t.Fatalf("three fragments: %d packets, %v", len(pkts), err)
	}
	if st.Frames != 3 || st.Packets != 1 || st.Reassembled != 1 || st.FragmentFrames != 3 || st.Skipped.Total() != 0 {
		t.Errorf("account: %+v", st)
	}

	f = newPcap(65535, 101)
	for _, fr := range [][]byte{frags[0], frags[2]} {
		f.frame(t0, fr, uint32(len(fr)))
	}
	pkts, st, err = readFile(t, f.b.Bytes())
	if err != nil || len(pkts) != 0 || st.Skipped.Fragments != 2 || st.Frames != 2 {
		t.Errorf("a fragment missing: %d packets, %v, %+v; want 0 and both fragments counted as skipped", len(pkts), err, st)
	}
}

func fragment4(pkt []byte, mtu int) [][]byte {
	ihl := int(pkt[0]&0xf) * 4
	payload := pkt[ihl:]
	step := (mtu - ihl) &^ 7
	var out [][]byte
	for off := 0; off < len(payload); off += step {
		end := min(off+step, len(payload))
		f := append(append([]byte(nil), pkt[:ihl]...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		v := uint16(off / 8)
		if end < len(payload) {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], v)
		out = append(out, f)
	}
	return out
}

// TestSkipReasons: every frame that is not mDNS is counted by why.
func TestSkipReasons(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	eth := func(et uint16, payload []byte) []byte {
		b := make([]byte, 14, 14+len(payload))
		binary.BigEndian.PutUint16(b[12:], et)
		return append(b, payload...)
	}
	tcp := mdnsIP(make([]byte, 12))
	tcp[9] = 6
	dns := ipudp.Build(netip.MustParseAddrPort("10.88.0.2:40000"), netip.MustParseAddrPort("10.88.0.1:53"), 64, make([]byte, 12))
	f := newPcap(65535, 1)
	for _, fr := range [][]byte{
		eth(0x0806, make([]byte, 28)),         // ARP
		eth(0x0800, tcp),                      // TCP
		eth(0x0800, dns),                      // DNS on port 53
		eth(0x0800, mdnsIP(nil)[:24]),         // UDP header cut off
		eth(0x0800, mdnsIP(make([]byte, 12))), // mDNS
	} {
		f.frame(t0, fr, uint32(len(fr)))
	}
	pkts, st, err := readFile(t, f.b.Bytes())
	want := Skips{NotIP: 1, NotUDP: 1, OtherPort: 1, Malformed: 1}
	if err != nil || len(pkts) != 1 || st.Skipped != want || st.Frames != 5 {
		t.Errorf("%d packets, %v, %+v; want 1 packet and skips %+v", len(pkts), err, st, want)
	}
}

// TestTimestampResolutions: pcapng's if_tsresol in powers of 10 and of 2.
func TestTimestampResolutions(t *testing.T) {
	want := time.Unix(1_700_000_000, 123_456_789).UTC()
	ip := mdnsIP(make([]byte, 12))
	for _, c := range []struct {
		res byte
		ts  uint64
		at  time.Time
	}{
		{6, uint64(want.UnixMicro()), want.Truncate(time.Microsecond)},
		{9, uint64(want.UnixNano()), want},
		{0x80 | 20, uint64(want.Unix())<<20 | 1<<19, time.Unix(want.Unix(), 500_000_000).UTC()},
		{12, 1_000_000*1e12 + 5e11, time.Unix(1_000_000, 500_000_000).UTC()}, // picoseconds
	} {
		pkts, _, err := readFile(t, newNg().iface(0, "eth0", c.res).epb(0, c.ts, ip, uint32(len(ip))).b.Bytes())
		if err != nil || len(pkts) != 1 || !pkts[0].Received.Equal(c.at) {
			t.Errorf("tsresol 0x%02x: %v, %v; want %v", c.res, pkts, err, c.at)
		}
	}
}

// FuzzReader: whatever the bytes, reading ends with a packet count no
// larger than the frame count and an error of a known kind, without a
// panic or an allocation beyond the reader's bounds.
func FuzzReader(f *testing.F) {
	peers, err := os.ReadFile("../cli/testdata/peers.pcapng")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(peers)
	t0 := time.Unix(1_700_000_000, 0)
	ip := mdnsIP(make([]byte, 12))
	f.Add(newPcap(65535, 101).frame(t0, ip, uint32(len(ip))).b.Bytes())
	f.Add(newNg().iface(0xffffffff, "eth0", 0x94).epb(0, 1, ip, uint32(len(ip))).b.Bytes())
	whole := mdnsIP(bytes.Repeat([]byte{1}, 3000))
	whole[6] = 0
	fp := newPcap(65535, 101)
	for _, fr := range fragment4(whole, 1500) {
		fp.frame(t0, fr, uint32(len(fr)))
	}
	f.Add(fp.b.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(peers[:len(peers)/2])
	zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for {
			_, _, err := r.Next()
			if err == nil {
				continue
			}
			var fe *FormatError
			var te *TruncatedError
			if !errors.Is(err, io.EOF) && !errors.As(err, &fe) && !errors.As(err, &te) && !strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "flate") {
				t.Fatalf("error of an unknown kind: %v", err)
			}
			break
		}
		if st := r.Stats(); st.Packets > st.Frames || st.Packets+st.Skipped.Total() > st.Frames {
			t.Fatalf("account does not add up: %+v", st)
		}
	})
}
