// Command mkpcap writes a pcapng of N mDNS packets, cycling through the
// real packets in mdns/testdata/peers.hex, for the decode benchmarks.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

func main() {
	n := flag.Int("n", 100000, "number of packets")
	corpus := flag.String("corpus", "mdns/testdata/peers.hex", "hex corpus, one message per line")
	out := flag.String("o", "bench/out/100k.pcapng", "output file")
	flag.Parse()
	if err := run(*n, *corpus, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkpcap:", err)
		os.Exit(1)
	}
}

func run(n int, corpus, out string) error {
	f, err := os.Open(corpus)
	if err != nil {
		return err
	}
	defer f.Close()
	var msgs [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		b, err := hex.DecodeString(l)
		if err != nil {
			return err
		}
		msgs = append(msgs, b)
	}
	if err := os.MkdirAll(strings.TrimSuffix(out, "/"+lastElem(out)), 0o755); err != nil {
		return err
	}
	fh, err := os.Create(out)
	if err != nil {
		return err
	}
	w := pcapfile.NewWriter(fh)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		p := mdns.Packet{
			Received: t0.Add(time.Duration(i) * time.Millisecond),
			IfName:   "eth0",
			Src:      netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 88, 0, byte(2 + i%200)}), 5353),
			Dst:      netip.AddrPortFrom(mdns.GroupV4, 5353),
			HopLimit: 255,
			Raw:      msgs[i%len(msgs)],
		}
		if err := w.Write(p); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fh.Close()
}

func lastElem(p string) string {
	i := strings.LastIndexByte(p, '/')
	return p[i+1:]
}
