// Package pcapfile reads mDNS packets from pcap and pcapng files and writes
// received packets as pcapng that tshark and Wireshark open, one interface
// block per interface. It uses gopacket's pure-Go pcapgo (no libpcap).
package pcapfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/bonjourctl/bonjourctl/internal/ipudp"
	"github.com/bonjourctl/bonjourctl/mdns"
)

type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader yields the UDP datagrams to or from port 5353 in a capture file.
type Reader struct {
	src     packetSource
	ng      *pcapgo.NgReader
	link    layers.LinkType
	frame   int
	arena   []byte        // packets' bytes are copied here, one allocation for many
	blocks  *blockTracker // pcapng: where the file ends, between blocks or inside one
	Skipped int           // frames that were not UDP port 5353 (or not IP at all)
}

// TruncatedError says the file ends in the middle of a frame or block: the
// capture was cut short, as when the program writing it was stopped
// mid-write. The frames before the cut were read.
type TruncatedError struct {
	Frames int // complete frames before the cut
}

func (e *TruncatedError) Error() string {
	if e.Frames == 0 {
		return "the file is cut short before its first frame is complete (as when a capture is stopped while writing)"
	}
	return fmt.Sprintf("the file is cut short after frame %d, in the middle of what follows (as when a capture is stopped while writing); the %d frames before the cut were read", e.Frames, e.Frames)
}

var ngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a} // the section header block's type

// blockTracker passes a pcapng stream through and follows its block framing
// (each block starts with its type and total length), so that the end of
// the file inside a block can be told from one between blocks: pcapgo
// reports both as io.EOF. It sees every byte before pcapgo does.
type blockTracker struct {
	r      io.Reader
	hdr    [12]byte // the current block's type, length and first 4 bytes
	nhdr   int      // bytes of hdr seen
	remain int64    // bytes of the current block after hdr still to come
	big    bool     // the current section is big-endian
}

func (t *blockTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		if t.remain > 0 {
			k := min(int64(len(b)), t.remain)
			t.remain -= k
			b = b[k:]
			continue
		}
		k := copy(t.hdr[t.nhdr:], b)
		t.nhdr += k
		b = b[k:]
		if t.nhdr < len(t.hdr) {
			continue
		}
		// Every block is at least 12 bytes: type, length, trailing length.
		// A section header gives the byte order in its next 4 bytes.
		if bytes.Equal(t.hdr[:4], ngMagic) {
			t.big = binary.BigEndian.Uint32(t.hdr[8:]) == 0x1a2b3c4d
		}
		length := binary.LittleEndian.Uint32(t.hdr[4:])
		if t.big {
			length = binary.BigEndian.Uint32(t.hdr[4:])
		}
		t.remain = max(int64(length)-int64(len(t.hdr)), 0)
		t.nhdr = 0
	}
	return n, err
}

// inBlock reports whether the bytes so far end inside a block.
func (t *blockTracker) inBlock() bool { return t.nhdr > 0 || t.remain > 0 }

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

// NewReader detects pcap or pcapng, gzip-compressed or not (as Wireshark
// can save them), from the first bytes of r.
func NewReader(r io.Reader) (*Reader, error) {
	blocks := &blockTracker{r: r}
	br := bufio.NewReaderSize(blocks, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read capture header: %w", err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip header: %w", err)
		}
		blocks = &blockTracker{r: zr} // follow the blocks of the decompressed bytes
		br = bufio.NewReaderSize(blocks, 1<<16)
		if magic, err = br.Peek(4); err != nil {
			return nil, fmt.Errorf("read capture header (gzip): %w", err)
		}
	}
	rd := &Reader{}
	if bytes.Equal(magic, ngMagic) {
		rd.blocks = blocks
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("read pcapng: %w", err)
		}
		rd.src, rd.ng, rd.link = ng, ng, ng.LinkType()
		return rd, nil
	}
	p, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	rd.src, rd.link = p, p.LinkType()
	return rd, nil
}

// Next returns the next mDNS datagram (UDP with source or destination port
// 5353) and its 1-based frame number. It returns io.EOF at the end.
func (r *Reader) Next() (mdns.Packet, int, error) {
	for {
		data, ci, err := r.src.ZeroCopyReadPacketData()
		if err != nil {
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF) && r.blocks != nil && r.blocks.inBlock():
				return mdns.Packet{}, r.frame, &TruncatedError{Frames: r.frame}
			case errors.Is(err, io.EOF):
				return mdns.Packet{}, r.frame, io.EOF
			}
			return mdns.Packet{}, r.frame, fmt.Errorf("frame %d: %w", r.frame+1, err)
		}
		r.frame++
		link := r.link
		if len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				link = lt
			}
		}
		ip, ok := linkPayload(link, data)
		if !ok {
			r.Skipped++
			continue
		}
		src, dst, hops, payload, ok := ipudp.Split(ip)
		if !ok || (src.Port() != mdns.Port && dst.Port() != mdns.Port) {
			r.Skipped++
			continue
		}
		p := mdns.Packet{
			Received: ci.Timestamp,
			Src:      src,
			Dst:      dst,
			HopLimit: hops,
			Raw:      r.keep(payload),
		}
		if r.ng != nil {
			if ifc, err := r.ng.Interface(ci.InterfaceIndex); err == nil {
				p.IfName = ifc.Name
			}
		}
		return p, r.frame, nil
	}
}

// linkPayload strips the link layer and returns the IP packet.
func linkPayload(lt layers.LinkType, b []byte) ([]byte, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
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
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return nil, false
		}
		return b[16:], true
	case layers.LinkTypeLinuxSLL2:
		if len(b) < 20 {
			return nil, false
		}
		return b[20:], true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12:
		return b, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			return nil, false
		}
		return b[4:], true
	}
	return nil, false
}

// Writer writes packets to a pcapng file as raw IP (link type 101), adding
// an interface description block the first time each interface is seen.
type Writer struct {
	w       io.Writer
	ng      *pcapgo.NgWriter
	ifaces  map[string]int
	n       int // packets handed to the writer
	flushed int // of which known to be in the file
	err     error
}

// flushEvery is how many packets may wait in the buffer: a capture killed
// with SIGKILL loses at most these (and at most a second's worth, with
// Flush called every second).
const flushEvery = 64

// NewWriter returns a Writer on w. Nothing is written until the first packet.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, ifaces: map[string]int{}} }

// Write appends p, synthesizing its IP and UDP headers (with correct
// checksums) from its addresses and hop limit. It flushes every 64
// packets; after an error every call returns it.
func (w *Writer) Write(p mdns.Packet) error {
	if w.err != nil {
		return w.err
	}
	if err := w.write(p); err != nil {
		w.err = err
		return err
	}
	if w.n-w.flushed >= flushEvery {
		return w.Flush()
	}
	return nil
}

func (w *Writer) write(p mdns.Packet) error {
	name := p.IfName
	if name == "" {
		name = "unknown"
	}
	intf := pcapgo.NgInterface{
		Name:                name,
		Description:         "bonjourctl capture on " + name,
		Filter:              "udp port 5353",
		OS:                  runtime.GOOS,
		LinkType:            layers.LinkTypeRaw,
		TimestampResolution: 9,
		SnapLength:          0,
	}
	if w.ng == nil {
		ng, err := pcapgo.NewNgWriterInterface(w.w, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "bonjourctl",
		}})
		if err != nil {
			return fmt.Errorf("write pcapng header: %w", err)
		}
		w.ng = ng
		w.ifaces[name] = 0
	}
	id, ok := w.ifaces[name]
	if !ok {
		var err error
		if id, err = w.ng.AddInterface(intf); err != nil {
			return fmt.Errorf("write pcapng interface %s: %w", name, err)
		}
		w.ifaces[name] = id
	}
	dst := p.Dst
	if !dst.IsValid() {
		g := mdns.GroupV4
		if p.Family() == 6 {
			g = mdns.GroupV6
		}
		dst = netip.AddrPortFrom(g, mdns.Port)
	}
	src := netip.AddrPortFrom(p.Src.Addr().WithZone(""), p.Src.Port())
	dst = netip.AddrPortFrom(dst.Addr().WithZone(""), dst.Port())
	frame := ipudp.Build(src, dst, p.HopLimit, p.Raw)
	w.n++
	return w.ng.WritePacket(gopacket.CaptureInfo{
		Timestamp:      p.Received,
		CaptureLength:  len(frame),
		Length:         len(frame),
		InterfaceIndex: id,
	}, frame)
}

// Count returns the number of packets known to be in the file (written
// and flushed).
func (w *Writer) Count() int { return w.flushed }

// Pending returns the number of packets written but not yet flushed.
func (w *Writer) Pending() int { return w.n - w.flushed }

// Flush writes buffered data out; call it every second while capturing,
// and before closing the file.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.ng == nil {
		return nil
	}
	if err := w.ng.Flush(); err != nil {
		w.err = err
		return err
	}
	w.flushed = w.n
	return nil
}
