package pcapfile

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/ipfrag"
	"github.com/bonjourctl/bonjourctl/internal/ipudp"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// The bounds on what a file may claim.
const (
	// maxFrame is the most a frame may hold: the 256 KiB that libpcap and
	// Wireshark allow.
	maxFrame = 256 << 10
	// maxBlock is the largest pcapng block read whole (a packet of 256
	// KiB with ample room for options); larger blocks of the kinds read
	// here are refused, larger blocks of other kinds skipped.
	maxBlock = 1 << 20
	// maxSkip is the largest block skipped (Wireshark's own limit).
	maxSkip = 16 << 20
	// maxInterfaces is the most interface blocks one pcapng section may have.
	maxInterfaces = 1 << 16
	// Gzip input: after gzipFree bytes out, at most gzipRatio bytes out per
	// byte in, and never more than gzipMax bytes out.
	gzipFree  = 64 << 20
	gzipRatio = 100
	gzipMax   = 16 << 30
)

// FormatError is a capture file that breaks its format's rules, with
// where: the frame (0 when the error is not in a frame) and the byte
// offset (in the decompressed stream when the file is gzip-compressed).
type FormatError struct {
	Frame  int
	Offset int64
	Reason string
}

func (e *FormatError) Error() string {
	if e.Frame > 0 {
		return fmt.Sprintf("frame %d (offset %d): %s", e.Frame, e.Offset, e.Reason)
	}
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Reason)
}

// TruncatedError says the file ends in the middle of a frame or block: the
// capture was cut short, as when the program writing it was stopped
// mid-write. The frames before the cut were read.
type TruncatedError struct {
	Frames int   // complete frames before the cut
	Offset int64 // where the unfinished record or block starts
}

func (e *TruncatedError) Error() string {
	if e.Frames == 0 {
		return "the file is cut short before its first frame is complete (as when a capture is stopped while writing)"
	}
	return fmt.Sprintf("the file is cut short after frame %d, in the middle of what follows (as when a capture is stopped while writing); the %d frames before the cut were read", e.Frames, e.Frames)
}

// Skips counts the frames that did not yield an mDNS packet, by reason.
type Skips struct {
	NotIP     int // the link layer carries something other than IPv4 or IPv6 (ARP, LLDP), or is of a kind not read
	NotUDP    int // IP carrying something other than UDP (TCP, ICMP)
	OtherPort int // UDP neither from nor to port 5353
	Malformed int // IP or UDP headers cut off or inconsistent
	// Fragments: IP fragments of datagrams that never completed (a
	// fragment missing, overlapping, or past the reassembly bounds).
	Fragments int
}

// Total is the number of frames skipped.
func (s Skips) Total() int { return s.NotIP + s.NotUDP + s.OtherPort + s.Malformed + s.Fragments }

// Stats is the reader's account of the file so far.
type Stats struct {
	Frames  int // frames read
	Packets int // mDNS datagrams returned
	// Reassembled counts datagrams put together from FragmentFrames
	// fragments (of which Skips.Fragments never completed).
	Reassembled    int
	FragmentFrames int
	// Snapped counts frames the capture cut at its snap length (captured
	// length under the original); their packets are decoded as far as
	// they go.
	Snapped int
	Skipped Skips
}

type ngInterface struct {
	link    uint16
	name    string
	snaplen uint32
	tsres   uint8 // if_tsresol: 10^-n, or 2^-n with the high bit set
	tsoff   int64 // if_tsoffset, seconds
}

// Reader yields the UDP datagrams to or from port 5353 in a capture file,
// IP fragments reassembled.
type Reader struct {
	br    *bufio.Reader
	off   int64 // stream offset of br's next byte
	ng    bool
	order binary.ByteOrder
	// pcap
	link uint16
	nano bool
	// pcapng
	ifaces []ngInterface

	frame int
	arena []byte // packets' bytes are copied here, one allocation for many
	frags *ipfrag.Reassembler
	stats Stats
}

// gzipGuard decompresses within the bounds of a ratio and a size.
type gzipGuard struct {
	zr  *gzip.Reader
	in  *countingReader
	out int64
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (g *gzipGuard) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	g.out += int64(n)
	switch {
	case g.out > gzipMax:
		return n, &FormatError{Offset: g.out, Reason: fmt.Sprintf("gzip: more than %d GiB decompressed; refusing to read on", gzipMax>>30)}
	case g.out > gzipFree && g.out > gzipRatio*g.in.n:
		return n, &FormatError{Offset: g.out, Reason: fmt.Sprintf("gzip: %d MiB decompressed from %d KiB (more than %d to 1): refusing what looks like a decompression bomb", g.out>>20, g.in.n>>10, gzipRatio)}
	}
	return n, err
}

// NewReader detects pcap or pcapng, gzip-compressed or not (as Wireshark
// can save them), and reads the file header.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read capture header: %w", eofUnexpected(err))
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		cr := &countingReader{r: br}
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return nil, fmt.Errorf("read gzip header: %w", err)
		}
		br = bufio.NewReaderSize(&gzipGuard{zr: zr, in: cr}, 64<<10)
	}
	rd := &Reader{br: br, frags: ipfrag.New(ipfrag.Limits{})}
	magic, err = rd.br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read capture header: %w", eofUnexpected(err))
	}
	switch {
	case binary.BigEndian.Uint32(magic) == 0x0a0d0d0a:
		rd.ng = true
		if err := rd.readSection(); err != nil {
			return nil, fmt.Errorf("read pcapng: %w", err)
		}
		return rd, nil
	default:
		if err := rd.readPcapHeader(); err != nil {
			return nil, err
		}
		return rd, nil
	}
}

func eofUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// peek returns the next n bytes without consuming them. An end of file
// within them is a TruncatedError (unless nothing at all is left and
// clean is set: then io.EOF).
func (r *Reader) peek(n int, clean bool) ([]byte, error) {
	if n > r.br.Size() {
		// A block bigger than the buffer (rare: packets over 64 KiB, big
		// options): read on through a buffer that holds the largest.
		r.br = bufio.NewReaderSize(r.br, maxBlock+64)
	}
	b, err := r.br.Peek(n)
	if err == nil {
		return b, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if len(b) == 0 && clean {
			return nil, io.EOF
		}
		return nil, &TruncatedError{Frames: r.frame, Offset: r.off}
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return nil, fe
	}
	return nil, fmt.Errorf("offset %d: %w", r.off+int64(len(b)), err)
}

func (r *Reader) discard(n int) error {
	k, err := r.br.Discard(n)
	r.off += int64(k)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &TruncatedError{Frames: r.frame, Offset: r.off}
		}
		return err
	}
	return nil
}

func (r *Reader) formatErr(frame int, reason string, args ...any) error {
	return &FormatError{Frame: frame, Offset: r.off, Reason: fmt.Sprintf(reason, args...)}
}

func (r *Reader) readPcapHeader() error {
	h, err := r.peek(24, false)
	if err != nil {
		return fmt.Errorf("read pcap header: %w", err)
	}
	switch m := binary.LittleEndian.Uint32(h); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		r.order, r.nano = binary.LittleEndian, m == 0xa1b23c4d
	default:
		switch m := binary.BigEndian.Uint32(h); m {
		case 0xa1b2c3d4, 0xa1b23c4d:
			r.order, r.nano = binary.BigEndian, m == 0xa1b23c4d
		default:
			return fmt.Errorf("not a pcap or pcapng file: it starts with %x (pcap starts with a1b2c3d4 or d4c3b2a1, pcapng with 0a0d0d0a, gzip with 1f8b)", h[:4])
		}
	}
	if major := r.order.Uint16(h[4:]); major != 2 {
		return fmt.Errorf("pcap version %d.%d: bonjourctl reads version 2", major, r.order.Uint16(h[6:]))
	}
	// The link type is the low 16 bits; the rest say whether frames
	// carry a frame check sequence.
	r.link = uint16(r.order.Uint32(h[20:]))
	return r.discard(24)
}

// readSection reads a pcapng section header block at the current offset.
func (r *Reader) readSection() error {
	h, err := r.peek(12, false)
	if err != nil {
		return err
	}
	switch binary.BigEndian.Uint32(h[8:]) {
	case 0x1a2b3c4d:
		r.order = binary.BigEndian
	case 0x4d3c2b1a:
		r.order = binary.LittleEndian
	default:
		return r.formatErr(0, "section header block with byte-order magic %x (want 1a2b3c4d in either byte order)", h[8:12])
	}
	body, err := r.block(0x0a0d0d0a)
	if err != nil {
		return err
	}
	if len(body) < 16 {
		return r.formatErr(0, "section header block of %d bytes (at least 28)", len(body)+12)
	}
	if major := r.order.Uint16(body[4:]); major != 1 {
		return r.formatErr(0, "pcapng version %d.%d: bonjourctl reads version 1", major, r.order.Uint16(body[6:]))
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// block reads the whole block at the current offset, whose type the
// caller has checked to be typ, checks its framing and returns its body;
// the body is valid until the next read.
func (r *Reader) block(typ uint32) ([]byte, error) {
	h, err := r.peek(8, false)
	if err != nil {
		return nil, err
	}
	length := r.order.Uint32(h[4:])
	if length < 12 || length%4 != 0 {
		return nil, r.formatErr(0, "block of type 0x%x says it is %d bytes long (a block is at least 12 bytes and a multiple of 4): the file is damaged, or its reader lost step", typ, length)
	}
	if length > maxBlock {
		return nil, r.formatErr(0, "block of type 0x%x is %d bytes long; bonjourctl reads such blocks up to %d bytes (packets of up to 256 KiB)", typ, length, maxBlock)
	}
	b, err := r.peek(int(length), false)
	if err != nil {
		return nil, err
	}
	if end := r.order.Uint32(b[length-4:]); end != length {
		return nil, r.formatErr(0, "block of type 0x%x is %d bytes long by its start but %d by its end: the file is damaged", typ, length, end)
	}
	if err := r.discard(int(length)); err != nil {
		return nil, err
	}
	return b[8 : length-4], nil
}

// skipBlock skips the block at the current offset (of a kind not read).
func (r *Reader) skipBlock(typ, length uint32) error {
	if length < 12 || length%4 != 0 || length > maxSkip {
		return r.formatErr(0, "block of type 0x%x says it is %d bytes long (a block is at least 12 bytes, a multiple of 4, and at most 16 MiB): the file is damaged, or its reader lost step", typ, length)
	}
	if err := r.discard(int(length) - 4); err != nil {
		return err
	}
	t, err := r.peek(4, false)
	if err != nil {
		return err
	}
	if end := r.order.Uint32(t); end != length {
		return r.formatErr(0, "block of type 0x%x is %d bytes long by its start but %d by its end: the file is damaged", typ, length, end)
	}
	return r.discard(4)
}

// frameData is one frame as the file holds it.
type frameData struct {
	data    []byte // valid until the next read
	at      time.Time
	link    uint16
	ifName  string
	snapped bool
}

// nextFrame reads up to the next frame. It returns io.EOF at a clean end.
func (r *Reader) nextFrame() (frameData, error) {
	if !r.ng {
		return r.nextPcapRecord()
	}
	for {
		h, err := r.peek(8, true)
		if err != nil {
			return frameData{}, err
		}
		typ := r.order.Uint32(h)
		if typ == 0x0a0d0d0a {
			if err := r.readSection(); err != nil {
				return frameData{}, err
			}
			continue
		}
		length := r.order.Uint32(h[4:])
		switch typ {
		case 1: // interface description
			body, err := r.block(typ)
			if err != nil {
				return frameData{}, err
			}
			if err := r.addInterface(body); err != nil {
				return frameData{}, err
			}
		case 6, 3, 2: // enhanced, simple, obsolete packet blocks
			frame, at := r.frame+1, r.off
			body, err := r.block(typ)
			if err != nil {
				var fe *FormatError
				if errors.As(err, &fe) && fe.Frame == 0 {
					fe.Frame = frame
				}
				return frameData{}, err
			}
			return r.packetBlock(typ, body, frame, at)
		default:
			if err := r.skipBlock(typ, length); err != nil {
				return frameData{}, err
			}
		}
	}
}

func (r *Reader) addInterface(body []byte) error {
	if len(body) < 8 {
		return r.formatErr(0, "interface description block of %d bytes (at least 20)", len(body)+12)
	}
	if len(r.ifaces) >= maxInterfaces {
		return r.formatErr(0, "more than %d interface description blocks in one section", maxInterfaces)
	}
	ifc := ngInterface{link: r.order.Uint16(body), snaplen: r.order.Uint32(body[4:]), tsres: 6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := r.order.Uint16(opts), int(r.order.Uint16(opts[2:]))
		if code == 0 {
			break
		}
		if 4+n > len(opts) {
			return r.formatErr(0, "interface description block: option %d says %d bytes, the block has %d left", code, n, len(opts)-4)
		}
		v := opts[4 : 4+n]
		switch {
		case code == 2:
			ifc.name = string(v)
		case code == 9 && n == 1:
			ifc.tsres = v[0]
		case code == 14 && n == 8:
			ifc.tsoff = int64(r.order.Uint64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	if ifc.tsres&0x7f > 63 || (ifc.tsres&0x80 == 0 && ifc.tsres > 19) {
		return r.formatErr(0, "interface %d: timestamp resolution 0x%02x cannot be represented", len(r.ifaces), ifc.tsres)
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

func (r *Reader) packetBlock(typ uint32, body []byte, frame int, at int64) (frameData, error) {
	bad := func(reason string, args ...any) (frameData, error) {
		return frameData{}, &FormatError{Frame: frame, Offset: at, Reason: fmt.Sprintf(reason, args...)}
	}
	var ifid, caplen, origlen uint32
	var ts uint64
	var data []byte
	switch typ {
	case 6: // enhanced: interface, timestamp, captured and original length
		if len(body) < 20 {
			return bad("enhanced packet block of %d bytes (at least 32)", len(body)+12)
		}
		ifid, ts = r.order.Uint32(body), uint64(r.order.Uint32(body[4:]))<<32|uint64(r.order.Uint32(body[8:]))
		caplen, origlen, data = r.order.Uint32(body[12:]), r.order.Uint32(body[16:]), body[20:]
	case 2: // obsolete packet block: 16-bit interface, drops
		if len(body) < 20 {
			return bad("packet block of %d bytes (at least 32)", len(body)+12)
		}
		ifid, ts = uint32(r.order.Uint16(body)), uint64(r.order.Uint32(body[4:]))<<32|uint64(r.order.Uint32(body[8:]))
		caplen, origlen, data = r.order.Uint32(body[12:]), r.order.Uint32(body[16:]), body[20:]
	case 3: // simple: the first interface, original length, no timestamp
		if len(body) < 4 {
			return bad("simple packet block of %d bytes (at least 16)", len(body)+12)
		}
		origlen, data = r.order.Uint32(body), body[4:]
		caplen = min(origlen, uint32(len(data)))
		if len(r.ifaces) > 0 && r.ifaces[0].snaplen > 0 {
			caplen = min(caplen, r.ifaces[0].snaplen)
		}
	}
	if int(ifid) >= len(r.ifaces) {
		return bad("packet on interface %d, but the section describes %d interfaces", ifid, len(r.ifaces))
	}
	if caplen > uint32(len(data)) {
		return bad("the packet block says %d bytes were captured but holds %d", caplen, len(data))
	}
	if caplen > maxFrame {
		return bad("%d bytes captured in one frame; a frame holds at most %d", caplen, maxFrame)
	}
	ifc := &r.ifaces[ifid]
	f := frameData{data: data[:caplen], link: ifc.link, ifName: ifc.name, snapped: caplen < origlen}
	if typ != 3 {
		f.at = stamp(ts, ifc.tsres, ifc.tsoff)
	}
	return f, nil
}

// stamp converts a pcapng timestamp in units of resolution res to a time.
func stamp(ts uint64, res uint8, offset int64) time.Time {
	var sec, nsec uint64
	if res&0x80 != 0 {
		n := uint(res & 0x7f)
		sec = ts >> n
		frac := ts & (1<<n - 1)
		if n > 0 { // frac*1e9 >> n, which is under 1e9
			hi, lo := bits.Mul64(frac, 1e9)
			nsec = lo>>n | hi<<(64-n)
		}
	} else {
		unit := uint64(1)
		for range res {
			unit *= 10
		}
		sec = ts / unit
		rem := ts % unit
		switch {
		case res <= 9:
			scale := uint64(1)
			for range 9 - res {
				scale *= 10
			}
			nsec = rem * scale
		default:
			div := uint64(1)
			for range res - 9 {
				div *= 10
			}
			nsec = rem / div
		}
	}
	return time.Unix(int64(sec)+offset, int64(nsec)).UTC()
}

func (r *Reader) nextPcapRecord() (frameData, error) {
	h, err := r.peek(16, true)
	if err != nil {
		return frameData{}, err
	}
	frame, at := r.frame+1, r.off
	caplen, origlen := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if caplen > maxFrame {
		return frameData{}, &FormatError{Frame: frame, Offset: at, Reason: fmt.Sprintf("the record header says %d bytes were captured; a frame holds at most %d (the file is damaged, or not read in step)", caplen, maxFrame)}
	}
	b, err := r.peek(16+int(caplen), false)
	if err != nil {
		return frameData{}, err
	}
	sub := int64(r.order.Uint32(h[4:]))
	if !r.nano {
		sub *= 1000
	}
	f := frameData{data: b[16:], at: time.Unix(int64(r.order.Uint32(h)), sub).UTC(), link: r.link, snapped: caplen < origlen}
	return f, r.discard(16 + int(caplen))
}

// Stats returns the account so far.
func (r *Reader) Stats() Stats {
	st := r.stats
	fs := r.frags.Stats()
	st.Reassembled, st.FragmentFrames = fs.Reassembled, fs.Fragments
	st.Skipped.Fragments = fs.IncompleteFragments + fs.Invalid
	return st
}

const arenaSize = 256 << 10

// keep copies b into the arena and returns the copy, whose capacity ends
// where it does.
func (r *Reader) keep(b []byte) []byte {
	if len(b) > cap(r.arena)-len(r.arena) {
		r.arena = make([]byte, 0, max(arenaSize, len(b)))
	}
	start := len(r.arena)
	r.arena = append(r.arena, b...)
	return r.arena[start:len(r.arena):len(r.arena)]
}

// Next returns the next mDNS datagram (UDP with source or destination port
// 5353) and its 1-based frame number (of its last fragment, when it was
// fragmented). It returns io.EOF at the end, when fragments still held
// are counted as skipped.
func (r *Reader) Next() (mdns.Packet, int, error) {
	for {
		f, err := r.nextFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.frags.Flush()
			}
			return mdns.Packet{}, r.frame, err
		}
		r.frame++
		r.stats.Frames++
		if f.snapped {
			r.stats.Snapped++
		}
		ip, ok := linkPayload(f.link, f.data)
		if !ok {
			r.stats.Skipped.NotIP++
			continue
		}
		ip, res := r.frags.Add(ip, f.at)
		if res == ipfrag.Held || res == ipfrag.Dropped {
			continue // counted by the reassembler
		}
		src, dst, hops, payload, ok := ipudp.Split(ip)
		if !ok {
			r.skip(ip)
			continue
		}
		if src.Port() != mdns.Port && dst.Port() != mdns.Port {
			r.stats.Skipped.OtherPort++
			continue
		}
		r.stats.Packets++
		return mdns.Packet{Received: f.at, Src: src, Dst: dst, HopLimit: hops, Raw: r.keep(payload), IfName: f.ifName}, r.frame, nil
	}
}

// skip counts an IP packet Split refused, by why.
func (r *Reader) skip(ip []byte) {
	s := &r.stats.Skipped
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4 && ip[9] != 17:
		s.NotUDP++
	case len(ip) >= 40 && ip[0]>>4 == 6 && !ipudp.CarriesUDP(ip):
		s.NotUDP++
	case len(ip) > 0 && ip[0]>>4 != 4 && ip[0]>>4 != 6:
		s.NotIP++
	default:
		s.Malformed++
	}
}

// Link types read (LINKTYPE_ values).
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkRawAlt   = 12 // raw IP on some BSDs
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

// linkPayload strips the link layer and returns the IP packet.
func linkPayload(lt uint16, b []byte) ([]byte, bool) {
	switch lt {
	case linkEthernet:
		if len(b) < 14 {
			return nil, false
		}
		et, off := binary.BigEndian.Uint16(b[12:]), 14
		for (et == 0x8100 || et == 0x88a8) && len(b) >= off+4 { // VLAN tags
			et, off = binary.BigEndian.Uint16(b[off+2:]), off+4
		}
		if et != 0x0800 && et != 0x86dd {
			return nil, false
		}
		return b[off:], true
	case linkSLL:
		if len(b) < 16 {
			return nil, false
		}
		return b[16:], true
	case linkSLL2:
		if len(b) < 20 {
			return nil, false
		}
		return b[20:], true
	case linkRaw, linkIPv4, linkIPv6, linkRawAlt:
		return b, true
	case linkNull, linkLoop:
		if len(b) < 4 {
			return nil, false
		}
		return b[4:], true
	}
	return nil, false
}
