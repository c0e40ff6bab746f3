// Package pcapfile reads mDNS packets from pcap and pcapng files and writes
// received packets as pcapng that tshark and Wireshark open, one interface
// block per interface.
//
// Writing uses gopacket's pure-Go pcapgo. Reading is this package's own:
// pcapgo's readers take every length in a file on trust (a snap length
// of 0xFFFFFFFF allocates 4 GiB; a block length that disagrees with its
// contents desynchronises the reader), and a capture file is as untrusted
// as the network it came from. The reader bounds every length by the
// file's own framing and the formats' limits, and says which frame and
// offset an error is at.
package pcapfile

import (
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
