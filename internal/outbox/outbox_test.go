package outbox_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"

	"github.com/bonjourctl/bonjourctl/internal/outbox"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOrderAndDrops: events arrive in order; while the consumer is stuck,
// Put never blocks and the excess is counted; Close delivers what is
// queued.
func TestOrderAndDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var got []int
		b := outbox.Start(2, func(v int) error {
			if v == 0 {
				<-release
			}
			got = append(got, v)
			return nil
		})
		b.Put(0)
		synctest.Wait() // the consumer holds 0
		for i := 1; i <= 5; i++ {
			b.Put(i)
		}
		if b.Dropped() != 3 {
			t.Errorf("dropped %d, want 3 (queue of 2)", b.Dropped())
		}
		close(release)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
			t.Errorf("delivered %v, want [0 1 2]", got)
		}
		if b.Put(9) || b.Dropped() != 4 {
			t.Error("Put after Close was not refused and counted")
		}
	})
}

// TestConsumerError: the consumer's first error closes Failed and is what
// Close returns; later events are not delivered.
func TestConsumerError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	b := outbox.Start(4, func(int) error { n++; return boom })
	b.Put(1)
	<-b.Failed()
	b.Put(2)
	if err := b.Close(); !errors.Is(err, boom) || n != 1 {
		t.Errorf("Close = %v after %d calls", err, n)
	}
}
