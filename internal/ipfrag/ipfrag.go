// Package ipfrag reassembles fragmented IPv4 and IPv6 datagrams read from
// capture files, within fixed bounds: a response larger than the link's
// MTU (a big TXT record, many instances) arrives in fragments, and a
// capture of it is only useful reassembled, as tshark shows it.
//
// Everything it holds is bounded: datagrams in progress, fragments per
// datagram, bytes per datagram and in all, and how long (in capture time)
// a datagram may wait for its missing fragments. What the bounds drop is
// counted, never lost without a word.
package ipfrag

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"
)

// Limits bound a Reassembler. Zero fields take the defaults.
type Limits struct {
	Datagrams int           // datagrams in progress at once (default 64)
	Fragments int           // fragments of one datagram (default 64)
	Bytes     int           // bytes held in all (default 4 MiB)
	Timeout   time.Duration // capture time a datagram waits for its fragments (default 30 s, Linux's ipfrag_time)
}

// maxDatagram is the largest IP payload a fragmented datagram can carry:
// the fragment offset field ends at 65528 and IPv4's total length at 65535.
const maxDatagram = 65535

// Result says what Add made of a packet.
type Result int

const (
	// Whole: the packet is not a fragment; Add returns it unchanged.
	Whole Result = iota
	// Held: a fragment, kept until its datagram is complete.
	Held
	// Complete: this fragment completed its datagram; Add returns the
	// reassembled packet.
	Complete
	// Dropped: a fragment that cannot be used (malformed, overlapping, past
	// a bound); its datagram, if any, is dropped with it and counted.
	Dropped
)

// Stats counts what a Reassembler did.
type Stats struct {
	Fragments   int // fragments taken
	Reassembled int // datagrams completed
	// Incomplete counts datagrams dropped with fragments missing: their
	// time ran out, the bounds made room, or the capture ended
	// (Flush). IncompleteFragments is how many fragments they held.
	Incomplete          int
	IncompleteFragments int
	// Invalid counts fragments dropped as malformed or overlapping
	// (RFC 5722: a datagram with overlapping fragments is dropped whole).
	Invalid int
}

type key struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only
}

// entry is a datagram's place in the arrival order; it is stale once
// the datagram is gone (its key may name a newer one, with another seq).
type entry struct {
	k   key
	seq uint64
}

type piece struct {
	off  int
	data []byte
}

type datagram struct {
	seq    uint64 // its entry in Reassembler.order
	first  time.Time
	header []byte // the first fragment's unfragmentable part, fixed up when complete
	pieces []piece
	total  int // payload length, once the last fragment is seen; -1 before
	bytes  int
	v6     bool
}

// Reassembler puts fragments back together. It is not safe for concurrent
// use.
type Reassembler struct {
	lim   Limits
	held  map[key]*datagram
	order []entry // in arrival order of the first fragment, for expiry and eviction
	seq   uint64
	bytes int
	stats Stats
}

// New returns a Reassembler within lim.
func New(lim Limits) *Reassembler {
	if lim.Datagrams <= 0 {
		lim.Datagrams = 64
	}
	if lim.Fragments <= 0 {
		lim.Fragments = 64
	}
	if lim.Bytes <= 0 {
		lim.Bytes = 4 << 20
	}
	if lim.Timeout <= 0 {
		lim.Timeout = 30 * time.Second
	}
	return &Reassembler{lim: lim, held: map[key]*datagram{}}
}

// Stats returns the counts so far.
func (r *Reassembler) Stats() Stats { return r.stats }

// Held returns the number of datagrams in progress.
func (r *Reassembler) Held() int { return len(r.held) }

// Flush drops every datagram still in progress (the capture has ended)
// and counts them as incomplete.
func (r *Reassembler) Flush() {
	for r.evictOldestBut(nil) {
	}
	r.order = r.order[:0]
}

// Add takes one IP packet (b, IPv4 or IPv6) captured at time at. A packet
// that is not a fragment comes back as it is (Whole); a fragment is copied
// and held; the fragment that completes a datagram returns the whole
// datagram as one IP packet with the fragmentation undone (Complete).
func (r *Reassembler) Add(b []byte, at time.Time) ([]byte, Result) {
	r.expire(at)
	if len(b) < 1 {
		return b, Whole
	}
	switch b[0] >> 4 {
	case 4:
		return r.add4(b, at)
	case 6:
		return r.add6(b, at)
	}
	return b, Whole
}

func (r *Reassembler) add4(b []byte, at time.Time) ([]byte, Result) {
	if len(b) < 20 {
		return b, Whole
	}
	ihl := int(b[0]&0xf) * 4
	frag := binary.BigEndian.Uint16(b[6:])
	more, off := frag&0x2000 != 0, int(frag&0x1fff)*8
	if !more && off == 0 {
		return b, Whole
	}
	r.stats.Fragments++
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl || total > len(b) {
		r.stats.Invalid++
		return nil, Dropped
	}
	k := key{src: netip.AddrFrom4([4]byte(b[12:16])), dst: netip.AddrFrom4([4]byte(b[16:20])), id: uint32(binary.BigEndian.Uint16(b[4:])), proto: b[9]}
	return r.addPiece(k, b[:ihl], off, b[ihl:total], more, at, false)
}

// add6 finds the fragment header after the extension headers that may
// precede it (hop-by-hop, routing, destination options).
func (r *Reassembler) add6(b []byte, at time.Time) ([]byte, Result) {
	if len(b) < 40 {
		return b, Whole
	}
	end := min(len(b), 40+int(binary.BigEndian.Uint16(b[4:])))
	nextAt, off := 6, 40
	for {
		switch b[nextAt] {
		case 0, 43, 60:
			if off+8 > end {
				return b, Whole // cut off: not ours to judge
			}
			n := (int(b[off+1]) + 1) * 8
			nextAt, off = off, off+n
			if off > end {
				return b, Whole
			}
			continue
		case 44:
		default:
			return b, Whole
		}
		break
	}
	r.stats.Fragments++
	if off+8 > end {
		r.stats.Invalid++
		return nil, Dropped
	}
	fh := b[off : off+8]
	fo := binary.BigEndian.Uint16(fh[2:])
	more, foff := fo&1 != 0, int(fo&0xfff8)
	data := b[off+8 : end]
	if !more && foff == 0 {
		// An atomic fragment (RFC 6946): the whole datagram, with a
		// fragment header. Return it without that header.
		out := make([]byte, 0, off+len(data))
		out = append(append(out, b[:off]...), data...)
		out[nextAt] = fh[0]
		binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
		return out, Whole
	}
	k := key{src: netip.AddrFrom16([16]byte(b[8:24])), dst: netip.AddrFrom16([16]byte(b[24:40])), id: binary.BigEndian.Uint32(fh[4:])}
	hdr := b[:off]
	if foff == 0 {
		// The first fragment's header, with the fragment header's next
		// header put where the fragment header was named.
		hdr = append([]byte(nil), hdr...)
		hdr[nextAt] = fh[0]
	}
	return r.addPiece(k, hdr, foff, data, more, at, true)
}

func (r *Reassembler) addPiece(k key, hdr []byte, off int, data []byte, more bool, at time.Time, v6 bool) ([]byte, Result) {
	// Every fragment but the last carries a multiple of 8 bytes, and
	// nothing may end past the largest datagram.
	if (more && len(data)%8 != 0) || off+len(data) > maxDatagram || (more && len(data) == 0) {
		r.stats.Invalid++
		r.drop(k)
		return nil, Dropped
	}
	d := r.held[k]
	if d == nil {
		for len(r.held) >= r.lim.Datagrams && r.evictOldestBut(nil) {
		}
		r.seq++
		d = &datagram{seq: r.seq, first: at, total: -1, v6: v6}
		r.held[k] = d
		r.order = append(r.order, entry{k, d.seq})
	}
	if len(d.pieces) >= r.lim.Fragments {
		r.stats.Invalid++
		r.drop(k)
		return nil, Dropped
	}
	end := off + len(data)
	for _, p := range d.pieces {
		if off < p.off+len(p.data) && p.off < end {
			r.stats.Invalid++ // overlap (RFC 5722)
			r.drop(k)
			return nil, Dropped
		}
	}
	if !more {
		if d.total >= 0 && d.total != end {
			r.stats.Invalid++
			r.drop(k)
			return nil, Dropped
		}
		d.total = end
	}
	if d.total >= 0 && end > d.total {
		r.stats.Invalid++
		r.drop(k)
		return nil, Dropped
	}
	for r.bytes+len(data) > r.lim.Bytes {
		if !r.evictOldestBut(d) {
			break
		}
	}
	if r.bytes+len(data) > r.lim.Bytes {
		r.stats.Invalid++
		r.drop(k)
		return nil, Dropped
	}
	d.pieces = append(d.pieces, piece{off: off, data: append([]byte(nil), data...)})
	d.bytes += len(data)
	r.bytes += len(data)
	if off == 0 {
		d.header = append([]byte(nil), hdr...)
	}
	if d.total < 0 || d.header == nil || d.bytes != d.total {
		return nil, Held
	}
	// No overlaps and as many bytes as the datagram holds: complete.
	out := d.assemble()
	r.remove(k)
	r.stats.Reassembled++
	return out, Complete
}

// assemble builds the whole IP packet: the first fragment's header, fixed
// up, and the payload in order.
func (d *datagram) assemble() []byte {
	slices.SortFunc(d.pieces, func(a, b piece) int { return a.off - b.off })
	out := make([]byte, 0, len(d.header)+d.total)
	out = append(out, d.header...)
	for _, p := range d.pieces {
		out = append(out, p.data...)
	}
	if d.v6 {
		binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
		return out
	}
	ihl := len(d.header)
	binary.BigEndian.PutUint16(out[2:], uint16(min(len(out), 0xffff)))
	binary.BigEndian.PutUint16(out[6:], 0) // no more fragments, offset 0
	out[10], out[11] = 0, 0
	var s uint32
	for i := 0; i+1 < ihl; i += 2 {
		s += uint32(binary.BigEndian.Uint16(out[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	binary.BigEndian.PutUint16(out[10:], ^uint16(s))
	return out
}

// expire drops the datagrams whose first fragment is older than the
// timeout at capture time now.
func (r *Reassembler) expire(now time.Time) {
	for len(r.order) > 0 {
		e := r.order[0]
		if d := r.held[e.k]; d != nil && d.seq == e.seq && now.Sub(d.first) < r.lim.Timeout {
			return
		}
		r.order = r.order[1:]
		r.dropEntry(e)
	}
}

// evictOldestBut drops the oldest datagram in progress other than keep,
// and reports whether there was one.
func (r *Reassembler) evictOldestBut(keep *datagram) bool {
	for i, e := range r.order {
		if d := r.held[e.k]; d != nil && d.seq == e.seq && d != keep {
			r.order = append(r.order[:i:i], r.order[i+1:]...)
			r.dropEntry(e)
			return true
		}
	}
	return false
}

// dropEntry drops the datagram of e, if it is still in progress.
func (r *Reassembler) dropEntry(e entry) {
	if d := r.held[e.k]; d != nil && d.seq == e.seq {
		r.drop(e.k)
	}
}

// drop counts a datagram in progress as incomplete and forgets it.
func (r *Reassembler) drop(k key) {
	d := r.held[k]
	if d == nil {
		return
	}
	r.stats.Incomplete++
	r.stats.IncompleteFragments += len(d.pieces)
	r.remove(k)
}

// remove forgets a datagram. Its entry in order goes stale; the order is
// compacted when stale entries outnumber live ones, so it stays bounded.
func (r *Reassembler) remove(k key) {
	if d := r.held[k]; d != nil {
		r.bytes -= d.bytes
		delete(r.held, k)
	}
	if len(r.order) > 2*len(r.held)+16 {
		live := r.order[:0]
		for _, e := range r.order {
			if d := r.held[e.k]; d != nil && d.seq == e.seq {
				live = append(live, e)
			}
		}
		clear(r.order[len(live):])
		r.order = live
	}
}
