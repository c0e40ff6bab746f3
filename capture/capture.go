// Package capture shows mDNS packets as they are: live from the mdns core
// (a tcpdump for mDNS) or from a pcap or pcapng file, decoded and rendered
// as text or JSON lines, filtered by name, type, host, family and
// interface, optionally written to pcapng, and accounted for: a summary
// says how many packets arrived, how many were shown, filtered out or lost,
// and what this capture cannot see.
package capture

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Filter decides which packets are shown. The zero value shows every one.
type Filter struct {
	name, typ string // NameKey of the presentation form
	host      string
	hostAddr  netip.Addr
	family    int             // 4 or 6 only; 0 both
	ifaces    map[string]bool // only these interfaces; nil for all
}

// NewFilter returns a filter for packets about a name (a question or
// record for it), a service type (the type and its instances), or a host
// (its address as the source or in a record, or records for its name);
// family (4 or 6, 0 for both) and interface names select further. Empty
// arguments do not filter.
func NewFilter(name, typ, host string, family int, ifaces []string) Filter {
	f := Filter{name: key(name), typ: key(typ), host: key(host), family: family}
	if a, err := netip.ParseAddr(host); err == nil {
		f.hostAddr = a.WithZone("")
	}
	if len(ifaces) > 0 {
		f.ifaces = map[string]bool{}
		for _, n := range ifaces {
			f.ifaces[n] = true
		}
	}
	return f
}

func key(s string) string {
	if s == "" {
		return ""
	}
	return mdns.NameKey(mdns.ParseName(s))
}

func (f Filter) byName() bool { return f.name != "" || f.typ != "" || f.host != "" }

// Match reports whether d passes the filter.
func (f Filter) Match(d dump.Decoded) bool {
	if f.family != 0 && d.Src.IsValid() && d.Family() != f.family {
		return false
	}
	if f.ifaces != nil && !f.ifaces[d.IfName] {
		return false
	}
	if !f.byName() {
		return true
	}
	if f.hostAddr.IsValid() && d.Src.Addr().WithZone("") == f.hostAddr {
		return true
	}
	match := func(n string) bool {
		k := mdns.NameKey(n)
		return (f.name != "" && k == f.name) ||
			(f.typ != "" && (k == f.typ || strings.HasSuffix(k, "."+f.typ))) ||
			(f.host != "" && !f.hostAddr.IsValid() && k == f.host)
	}
	for _, q := range d.Msg.Questions {
		if match(q.Name) {
			return true
		}
	}
	for _, sec := range [][]mdns.Record{d.Msg.Answers, d.Msg.Authority, d.Msg.Additional} {
		for i := range sec {
			r := &sec[i]
			if match(r.Name) {
				return true
			}
			if t, ok := r.Target(); ok && (r.Type == mdns.TypePTR || r.Type == mdns.TypeSRV) && match(t) {
				return true
			}
			if a, ok := r.Addr(); ok && f.hostAddr.IsValid() && a.Unmap() == f.hostAddr.Unmap() {
				return true
			}
		}
	}
	return false
}

// Options configure Live and File.
type Options struct {
	Filter   Filter
	JSON     bool           // JSON lines instead of text
	Location *time.Location // for text times (default UTC)
	Count    int            // stop after this many packets shown (0: no limit)
	Pcap     *pcapfile.Writer
}

// sink writes decoded packets as text or JSON lines.
type sink struct {
	w    *bufio.Writer
	json bool
	enc  *json.Encoder
	text *dump.Printer
	loc  *time.Location
	live bool // flush after every packet
}

func newSink(w io.Writer, o *Options) *sink {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	s := &sink{w: bw, json: o.JSON, text: dump.NewPrinter(loc), loc: loc}
	if o.JSON {
		s.enc = json.NewEncoder(bw)
	}
	return s
}

func (s *sink) write(d dump.Decoded) error {
	var err error
	if s.json {
		err = s.enc.Encode(dump.JSON(d))
	} else {
		err = s.text.Text(s.w, d)
	}
	if err != nil {
		return err
	}
	if s.live {
		return s.w.Flush()
	}
	return nil
}

// Link is what Live needs of the mdns core; *mdns.Core has it.
type Link interface {
	Subscribe(name string, size int) *mdns.Sub
	Interfaces() []net.Interface
	Stats() mdns.Stats
	Unseen() []string
	Close() error
}

// Summary accounts for every packet of a live capture.
type Summary struct {
	Received       uint64 // datagrams the core read
	OtherInterface uint64 // of which from interfaces not selected (ignored)
	Shown          int
	FilteredOut    int    // did not match the filter
	Lost           uint64 // capture was too slow to take them (its queue was full)
	NotShown       int    // taken after --count was reached
	KernelDrops    uint64 // the system dropped before bonjourctl could read
	KernelKnown    bool
	Written        int // to the pcapng file
	Unseen         []string
}

// String is the summary line capture prints.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d packets received, %d shown, %d filtered out, %d dropped by bonjourctl (reader too slow)", s.Received-s.OtherInterface, s.Shown, s.FilteredOut, s.Lost)
	if s.NotShown > 0 {
		fmt.Fprintf(&b, ", %d after --count", s.NotShown)
	}
	if s.KernelKnown {
		fmt.Fprintf(&b, ", %d dropped by the kernel (socket buffer full)", s.KernelDrops)
	}
	if s.OtherInterface > 0 {
		fmt.Fprintf(&b, "; %d from interfaces not selected, ignored", s.OtherInterface)
	}
	return b.String()
}

// Live prints every packet the link receives until ctx ends or
// opts.Count packets are shown, then closes the link, prints what was
// already queued, and returns the account.
func Live(ctx context.Context, link Link, w io.Writer, opts Options) (sum Summary, err error) {
	s := newSink(w, &opts)
	s.live = true
	defer func() {
		if ferr := s.w.Flush(); err == nil {
			err = ferr
		}
	}()
	sub := link.Subscribe("capture", 0)
	show := func(p mdns.Packet) error {
		if opts.Count > 0 && sum.Shown >= opts.Count {
			sum.NotShown++
			return nil
		}
		d := dump.Decode(p, 0)
		if !opts.Filter.Match(d) {
			sum.FilteredOut++
			return nil
		}
		sum.Shown++
		if opts.Pcap != nil {
			if err := opts.Pcap.Write(p); err != nil {
				return fmt.Errorf("write pcapng: %w", err)
			}
			sum.Written = opts.Pcap.Count()
		}
		return s.write(d)
	}
	var loopErr error
	// The pcapng file is flushed every second (and every 64 packets), so
	// a capture that is killed leaves a file readable up to then.
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	for loopErr == nil && (opts.Count == 0 || sum.Shown < opts.Count) {
		select {
		case <-ctx.Done():
		case <-flush.C:
			if opts.Pcap != nil {
				if err := opts.Pcap.Flush(); err != nil {
					loopErr = fmt.Errorf("write pcapng: %w", err)
				}
				sum.Written = opts.Pcap.Count()
			}
			continue
		case p, ok := <-sub.C():
			if !ok {
				_, loopErr = sub.Recv(ctx)
				break
			}
			loopErr = show(p)
			continue
		}
		break
	}
	// Read the kernel's drop count while the sockets are open, close them,
	// then take what was already queued, so that every packet received
	// before the stop is accounted for.
	st := link.Stats()
	sum.KernelDrops, sum.KernelKnown = st.KernelDrops, st.KernelDropsKnown
	link.Close()
	for loopErr == nil {
		p, err := sub.Recv(context.Background())
		if err != nil {
			break
		}
		loopErr = show(p)
	}
	st = link.Stats()
	sum.Received, sum.OtherInterface = st.Received, st.OtherInterface
	sum.Lost = sub.Dropped()
	sum.Unseen = link.Unseen()
	return sum, loopErr
}
