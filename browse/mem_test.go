package browse_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// BenchmarkInstances feeds 10,000 announced instances through the engine
// and reports the live heap per instance once all were added.
func BenchmarkInstances(b *testing.B) {
	const n = 10000
	pkts := make([][]dns.RR, n)
	for i := range pkts {
		inst := fmt.Sprintf("node-%05d._p2p._tcp.local.", i)
		host := fmt.Sprintf("host-%05d.local.", i)
		pkts[i] = []dns.RR{
			rr("_p2p._tcp.local. 4500 IN PTR " + inst),
			flush(rr(inst + " 120 IN SRV 0 0 4001 " + host)),
			txtRR(inst, 4500, true, []byte(fmt.Sprintf("\x09key=value\x08id=%05d", i))),
			flush(rr(fmt.Sprintf("%s 120 IN A 10.88.%d.%d", host, i>>8, i&0xff))),
		}
	}
	for it := 0; it < b.N; it++ {
		f := mdnstest.New()
		br := browse.New(f, browse.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		added := 0
		all := make(chan struct{})
		done := make(chan error)
		go func() {
			br.Browse("_p2p._tcp")
			done <- br.Run(ctx, func(e browse.Event) error {
				if e.Kind == browse.Added {
					added++
					if added == n {
						close(all)
					}
				}
				return nil
			})
		}()
		for len(f.Stats().Subscribers) == 0 {
			runtime.Gosched() // until Run has subscribed
		}
		for i, p := range pkts {
			f.Push(response(p[:1], p[1:]...))
			for i%1000 == 999 && br.Stats().Packets < i+1 {
				runtime.Gosched() // keep within the engine's queue
			}
		}
		<-all
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/n, "heapB/instance")
		cancel()
		<-done
	}
}
