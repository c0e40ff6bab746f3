package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// FileSummary accounts for every frame of a capture file read.
type FileSummary struct {
	pcapfile.Stats
	Shown       int
	FilteredOut int
	// Stopped says reading stopped at --count (or an interrupt) before
	// the end of the file: the figures cover the frames read until then.
	Stopped bool
}

// String is the summary line capture --read prints.
func (s FileSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d frames read: %d mDNS packets", s.Frames, s.Packets)
	if s.Reassembled > 0 {
		fmt.Fprintf(&b, " (%d reassembled from IP fragments)", s.Reassembled)
	}
	fmt.Fprintf(&b, ", %d shown, %d filtered out", s.Shown, s.FilteredOut)
	if sk := s.Skipped; sk.Total() > 0 {
		var why []string
		for _, c := range []struct {
			n    int
			what string
		}{{sk.NotIP, "not IP"}, {sk.NotUDP, "not UDP"}, {sk.OtherPort, "UDP on other ports"}, {sk.Malformed, "malformed IP or UDP headers"}, {sk.Fragments, "fragments of datagrams never completed"}} {
			if c.n > 0 {
				why = append(why, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		fmt.Fprintf(&b, "; %d frames skipped: %s", sk.Total(), strings.Join(why, ", "))
	}
	if s.Snapped > 0 {
		fmt.Fprintf(&b, "; %d frames cut at the capture's snap length (decoded as far as they go)", s.Snapped)
	}
	if s.Stopped {
		b.WriteString("; stopped before the end of the file")
	}
	return b.String()
}

// File decodes a pcap or pcapng capture (gzip-compressed or not) from r,
// named name in errors, and writes the packets that pass opts.Filter to w.
// From a regular file it decodes on every core and prints in file order;
// from a pipe it prints each packet as its frame arrives, until ctx ends.
// A capture cut short has its complete frames printed, then the error.
// The summary accounts for every frame read, also after an error.
func File(ctx context.Context, r io.Reader, name string, w io.Writer, opts Options) (sum FileSummary, err error) {
	s := newSink(w, &opts)
	defer func() {
		if ferr := s.w.Flush(); err == nil {
			err = ferr
		}
	}()
	pr, err := pcapfile.NewReader(r)
	if err != nil {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !regularFile(r) {
		err = stream(ctx, &opts, pr, name, s, &sum)
	} else {
		err = parallel(ctx, &opts, pr, name, s, &sum)
	}
	sum.Stats = pr.Stats()
	return sum, err
}

// fileBatch is a run of packets from a capture file, decoded and rendered
// by one worker; the writer takes batches in file order.
type fileBatch struct {
	pkts   []mdns.Packet
	frames []int
	out    []byte // rendered output of the packets that passed the filter
	ends   []int  // where each of those packets ends in out
	err    error  // a read error after these packets
	done   chan struct{}
}

// regularFile reports whether in is a file on disk (not a pipe or terminal).
func regularFile(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

// stream decodes a capture that arrives on a pipe (tcpdump -w - |
// bonjourctl capture --read -) one packet at a time, printing each as it
// comes; Ctrl-C stops it even while the pipe is quiet.
func stream(ctx context.Context, o *Options, r *pcapfile.Reader, name string, sink *sink, sum *FileSummary) error {
	type item struct {
		p     mdns.Packet
		frame int
		err   error
	}
	items := make(chan item, 64)
	done := make(chan struct{})
	defer func() { <-done }() // the reader's figures are final
	go func() {
		defer close(done)
		defer close(items)
		for {
			p, frame, err := r.Next()
			select {
			case items <- item{p, frame, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	sink.live = true
	for {
		var it item
		select {
		case <-ctx.Done():
			sum.Stopped = true
			return nil
		case x, ok := <-items:
			if !ok {
				return nil
			}
			it = x
		}
		if errors.Is(it.err, io.EOF) {
			return nil
		}
		if it.err != nil {
			return fmt.Errorf("%s: %w", name, it.err)
		}
		d := dump.Decode(it.p, it.frame)
		if !o.Filter.Match(d) {
			sum.FilteredOut++
			continue
		}
		if err := sink.write(d); err != nil {
			return err
		}
		if sum.Shown++; o.Count > 0 && sum.Shown >= o.Count {
			sum.Stopped = true
			return nil
		}
	}
}

// parallel decodes a capture file on every core: a reader cuts it into
// batches, workers decode, filter and render them, and the writer prints
// them in order.
func parallel(ctx context.Context, o *Options, r *pcapfile.Reader, name string, sink *sink, sum *FileSummary) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *fileBatch, workers)
	ordered := make(chan *fileBatch, 2*workers)
	spare := make(chan []byte, 4*workers) // printed batches' buffers, for reuse
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() { // reader
		defer wg.Done()
		defer close(work)
		defer close(ordered)
		for {
			b := &fileBatch{pkts: make([]mdns.Packet, 0, 512), frames: make([]int, 0, 512), done: make(chan struct{})}
			for len(b.pkts) < 512 {
				p, frame, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.err = fmt.Errorf("%s: %w", name, err)
					break
				}
				b.pkts, b.frames = append(b.pkts, p), append(b.frames, frame)
			}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
			if len(b.pkts) < 512 {
				return // end of file, or an error after these packets
			}
		}
	}()
	for i := 0; i < workers; i++ {
		go func() { // decoder
			defer wg.Done()
			printer := dump.NewPrinter(sink.loc)
			for b := range work {
				var buf []byte
				select {
				case buf = <-spare:
				default:
					buf = make([]byte, 0, 512*len(b.pkts))
				}
				for i, p := range b.pkts {
					d := dump.Decode(p, b.frames[i])
					if !o.Filter.Match(d) {
						continue
					}
					if sink.json {
						j, err := json.Marshal(dump.JSON(d))
						if err != nil {
							j = []byte(fmt.Sprintf(`{"frame":%d,"error":%q}`, b.frames[i], err.Error()))
						}
						buf = append(append(buf, j...), '\n')
					} else {
						buf = printer.Append(buf, d)
					}
					b.ends = append(b.ends, len(buf))
				}
				b.out = buf
				close(b.done)
			}
		}()
	}
	defer wg.Wait()
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
			sum.Stopped = true
			return nil
		}
		n := len(b.ends)
		if o.Count > 0 && sum.Shown+n > o.Count {
			n = o.Count - sum.Shown
		}
		if n > 0 {
			if _, err := sink.w.Write(b.out[:b.ends[n-1]]); err != nil {
				cancel()
				return err
			}
			sum.Shown += n
		}
		sum.FilteredOut += len(b.pkts) - len(b.ends)
		select {
		case spare <- b.out[:0]:
		default:
		}
		if o.Count > 0 && sum.Shown >= o.Count {
			sum.Stopped = n < len(b.ends) || len(b.pkts) == 512
			cancel()
			return nil
		}
		if b.err != nil {
			cancel()
			return b.err
		}
	}
	return nil
}
