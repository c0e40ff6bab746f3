// Package outbox carries an engine's events to its consumer without ever
// blocking the engine. Events wait in a bounded queue that one goroutine
// drains into the consumer's function, in order; when the consumer is so
// slow that the queue is full, further events are dropped and counted, so
// the engine keeps answering and querying on time and the loss is reported
// rather than silent.
package outbox

import (
	"sync"
	"sync/atomic"
)

// Box is one engine's outbox.
type Box[T any] struct {
	ch      chan T
	fn      func(T) error
	dropped atomic.Uint64
	failed  chan struct{}
	done    chan struct{}
	err     error
	once    sync.Once
	mu      sync.Mutex
	closed  bool
}

// DefaultSize is the queue length when Start is given 0.
const DefaultSize = 4096

// Start returns a Box that calls fn with each event on its own goroutine.
// Close it to deliver what is queued and stop.
func Start[T any](size int, fn func(T) error) *Box[T] {
	if size <= 0 {
		size = DefaultSize
	}
	b := &Box[T]{ch: make(chan T, size), fn: fn, failed: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *Box[T]) run() {
	defer close(b.done)
	for v := range b.ch {
		if b.err != nil {
			continue // the consumer gave up: drain
		}
		if err := b.fn(v); err != nil {
			b.err = err
			close(b.failed)
		}
	}
}

// Put queues v. It never blocks: when the queue is full (or the Box is
// closed) v is dropped, counted, and Put returns false.
func (b *Box[T]) Put(v T) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		b.dropped.Add(1)
		return false
	}
	select {
	case b.ch <- v:
		return true
	default:
		b.dropped.Add(1)
		return false
	}
}

// Dropped returns how many events were dropped because the consumer was
// behind.
func (b *Box[T]) Dropped() uint64 { return b.dropped.Load() }

// Failed is closed when the consumer's function first returns an error.
func (b *Box[T]) Failed() <-chan struct{} { return b.failed }

// Close delivers the events still queued, stops the goroutine and returns
// the consumer's first error.
func (b *Box[T]) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.ch)
		b.mu.Unlock()
	})
	<-b.done
	return b.err
}
