package ipfrag

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/ipudp"
)

// fragment4 cuts an IPv4 packet into fragments of at most mtu bytes, as a
// sender's IP layer does (the don't-fragment bit cleared first).
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

// fragment6 does the same for IPv6, with a fragment header of identifier id.
func fragment6(pkt []byte, mtu int, id uint32) [][]byte {
	payload := pkt[40:]
	step := (mtu - 48) &^ 7
	var out [][]byte
	for off := 0; off < len(payload); off += step {
		end := min(off+step, len(payload))
		f := append([]byte(nil), pkt[:40]...)
		f[6] = 44
		fh := make([]byte, 8)
		fh[0] = pkt[6]
		v := uint16(off)
		if end < len(payload) {
			v |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], v)
		binary.BigEndian.PutUint32(fh[4:], id)
		f = append(append(f, fh...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		out = append(out, f)
	}
	return out
}

// bigResponse is a 3.7 KB mDNS payload in an IP+UDP packet.
func bigResponse(v6 bool) []byte {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 230)
	src, dst := netip.MustParseAddrPort("10.88.0.2:5353"), netip.MustParseAddrPort("224.0.0.251:5353")
	if v6 {
		src, dst = netip.MustParseAddrPort("[fe80::2]:5353"), netip.MustParseAddrPort("[ff02::fb]:5353")
	}
	pkt := ipudp.Build(src, dst, 255, payload)
	if !v6 {
		pkt[6] = 0 // may be fragmented
		binary.BigEndian.PutUint16(pkt[10:], 0)
		var s uint32
		for i := 0; i < 20; i += 2 {
			s += uint32(binary.BigEndian.Uint16(pkt[i:]))
		}
		for s>>16 != 0 {
			s = s&0xffff + s>>16
		}
		binary.BigEndian.PutUint16(pkt[10:], ^uint16(s))
	}
	return pkt
}

func TestReassembleInAnyOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, v6 := range []bool{false, true} {
		pkt := bigResponse(v6)
		frags := fragment4(pkt, 1500)
		if v6 {
			frags = fragment6(pkt, 1280, 7)
		}
		if len(frags) < 3 {
			t.Fatalf("v6=%v: %d fragments, want at least 3", v6, len(frags))
		}
		for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
			r := New(Limits{})
			seq := append(order, seqFrom(3, len(frags))...)
			var got []byte
			for i, n := range seq {
				out, res := r.Add(frags[n], t0)
				if want := Held; i == len(seq)-1 {
					if res != Complete {
						t.Fatalf("v6=%v order %v: last fragment gave %v, want Complete", v6, seq, res)
					}
					got = out
				} else if res != want {
					t.Fatalf("v6=%v order %v: fragment %d gave %v, want Held", v6, seq, n, res)
				}
			}
			if !bytes.Equal(got, pkt) {
				t.Fatalf("v6=%v order %v: reassembled packet differs from the original (%d vs %d bytes)", v6, seq, len(got), len(pkt))
			}
			d, err := ipudp.Parse(got)
			if err != nil || !d.Valid() {
				t.Fatalf("v6=%v: reassembled packet does not parse cleanly: %v %v", v6, err, d)
			}
			if st := r.Stats(); st.Reassembled != 1 || st.Fragments != len(frags) || st.Incomplete != 0 || r.Held() != 0 || r.bytes != 0 {
				t.Fatalf("v6=%v: stats %+v held %d bytes %d", v6, st, r.Held(), r.bytes)
			}
		}
	}
}

func seqFrom(a, b int) []int {
	var s []int
	for i := a; i < b; i++ {
		s = append(s, i)
	}
	return s
}

func TestWholeAndAtomic(t *testing.T) {
	r := New(Limits{})
	pkt := ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.MustParseAddrPort("224.0.0.251:5353"), 255, []byte("hello"))
	if out, res := r.Add(pkt, time.Time{}); res != Whole || !bytes.Equal(out, pkt) {
		t.Fatalf("unfragmented IPv4: %v", res)
	}
	v6 := ipudp.Build(netip.MustParseAddrPort("[fe80::2]:5353"), netip.MustParseAddrPort("[ff02::fb]:5353"), 255, []byte("hello"))
	atomic := fragment6(v6, 1280, 9)
	if len(atomic) != 1 {
		t.Fatal("want one fragment")
	}
	out, res := r.Add(atomic[0], time.Time{})
	if res != Whole || !bytes.Equal(out, v6) {
		t.Fatalf("atomic fragment: %v, %x; want the packet without its fragment header", res, out)
	}
}

func TestIncompleteAndBounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pkt := bigResponse(false)
	frags := fragment4(pkt, 1500)

	// A missing fragment: held until the capture's clock passes the
	// timeout, then counted as incomplete with its fragments.
	r := New(Limits{Timeout: 30 * time.Second})
	r.Add(frags[0], t0)
	r.Add(frags[1], t0)
	if r.Held() != 1 {
		t.Fatalf("held %d", r.Held())
	}
	r.Add(pkt[:20], t0.Add(31*time.Second)) // anything later expires it
	if st := r.Stats(); st.Incomplete != 1 || st.IncompleteFragments != 2 || r.Held() != 0 || r.bytes != 0 {
		t.Fatalf("after the timeout: %+v held %d bytes %d", st, r.Held(), r.bytes)
	}

	// Overlapping fragments drop the datagram (RFC 5722).
	r = New(Limits{})
	r.Add(frags[0], t0)
	if _, res := r.Add(frags[0], t0); res != Dropped {
		t.Fatalf("duplicate fragment: %v, want Dropped", res)
	}
	if st := r.Stats(); st.Invalid != 1 || st.Incomplete != 1 || r.Held() != 0 {
		t.Fatalf("after an overlap: %+v", st)
	}

	// More datagrams than the bound: the oldest go, counted.
	r = New(Limits{Datagrams: 4})
	for id := range 10 {
		f := append([]byte(nil), frags[0]...)
		binary.BigEndian.PutUint16(f[4:], uint16(id))
		r.Add(f, t0)
	}
	if st := r.Stats(); r.Held() != 4 || st.Incomplete != 6 {
		t.Fatalf("bound of 4 datagrams: held %d, stats %+v", r.Held(), st)
	}
	r.Flush()
	if st := r.Stats(); r.Held() != 0 || st.Incomplete != 10 || r.bytes != 0 {
		t.Fatalf("after Flush: held %d, stats %+v", r.Held(), st)
	}

	// A byte bound smaller than one datagram: never held past it.
	r = New(Limits{Bytes: 2000})
	var last Result
	for _, f := range frags {
		_, last = r.Add(f, t0)
	}
	if last == Complete || r.bytes > 2000 {
		t.Fatalf("byte bound 2000: %v, %d bytes held", last, r.bytes)
	}

	// A fragment past the largest datagram, or not a multiple of 8.
	r = New(Limits{})
	bad := append([]byte(nil), frags[0]...)
	binary.BigEndian.PutUint16(bad[6:], 0x2000|8190)
	if _, res := r.Add(bad, t0); res != Dropped {
		t.Fatalf("fragment ending past 65535: %v", res)
	}
	odd := append([]byte(nil), frags[0][:len(frags[0])-1]...)
	binary.BigEndian.PutUint16(odd[2:], uint16(len(odd)))
	if _, res := r.Add(odd, t0); res != Dropped {
		t.Fatalf("non-final fragment of odd length: %v", res)
	}
}

// TestOrderStaysBounded: a long run of completed datagrams while one
// stays incomplete does not grow the arrival order.
func TestOrderStaysBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	frags := fragment4(bigResponse(false), 1500)
	r := New(Limits{})
	stuck := append([]byte(nil), frags[0]...)
	binary.BigEndian.PutUint16(stuck[4:], 0xffff)
	r.Add(stuck, t0)
	for id := range 5000 {
		for _, f := range frags {
			f = append([]byte(nil), f...)
			binary.BigEndian.PutUint16(f[4:], uint16(id))
			r.Add(f, t0)
		}
	}
	if len(r.order) > 64 || r.Held() != 1 || r.Stats().Reassembled != 5000 {
		t.Fatalf("order %d entries, held %d, reassembled %d", len(r.order), r.Held(), r.Stats().Reassembled)
	}
}

// FuzzReassemble feeds packets cut from the input (a length byte before
// each) and checks the bounds hold and every completed datagram is a
// well-formed IP packet of the length it says.
func FuzzReassemble(f *testing.F) {
	seed := func(pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		return b
	}
	small := ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.MustParseAddrPort("224.0.0.251:5353"), 255, bytes.Repeat([]byte{1}, 100))
	small[6] = 0
	f.Add(seed(fragment4(small, 60)...))
	f.Add(seed(fragment6(ipudp.Build(netip.MustParseAddrPort("[fe80::2]:5353"), netip.MustParseAddrPort("[ff02::fb]:5353"), 255, bytes.Repeat([]byte{2}, 100)), 64, 3)...))
	fr := fragment4(small, 60)
	rand.Shuffle(len(fr), func(i, j int) { fr[i], fr[j] = fr[j], fr[i] })
	f.Add(seed(append(fr, fr[0])...))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := New(Limits{Datagrams: 8, Fragments: 16, Bytes: 4096})
		t0 := time.Unix(0, 0)
		for i := 0; len(in) >= 2; i++ {
			n := min(int(binary.BigEndian.Uint16(in)), len(in)-2)
			pkt := in[2 : 2+n]
			in = in[2+n:]
			out, res := r.Add(pkt, t0.Add(time.Duration(i)*time.Second))
			if res == Complete {
				if len(out) < 20 {
					t.Fatalf("completed datagram of %d bytes", len(out))
				}
				switch out[0] >> 4 {
				case 4:
					if int(binary.BigEndian.Uint16(out[2:])) != len(out) && len(out) <= 0xffff {
						t.Fatalf("IPv4 total length %d, packet %d bytes", binary.BigEndian.Uint16(out[2:]), len(out))
					}
				case 6:
					if int(binary.BigEndian.Uint16(out[4:])) != len(out)-40 {
						t.Fatalf("IPv6 payload length %d, packet %d bytes", binary.BigEndian.Uint16(out[4:]), len(out))
					}
				}
			}
			if r.Held() > 8 || r.bytes > 4096 || r.bytes < 0 || len(r.order) > 2*r.Held()+17 {
				t.Fatalf("bounds broken: held %d, bytes %d, order %d", r.Held(), r.bytes, len(r.order))
			}
		}
		r.Flush()
		if r.Held() != 0 || r.bytes != 0 {
			t.Fatalf("after Flush: held %d, bytes %d", r.Held(), r.bytes)
		}
	})
}
