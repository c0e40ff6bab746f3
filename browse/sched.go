package browse

import (
	"container/heap"
	"time"
)

// task is one scheduled thing of the engine: the next query for a type,
// the next refresh or the expiry of a record, an instance's resolve retry,
// a Resolve's retransmission. Each owner holds exactly one task and moves
// it (RFC 6762 §5.2's refreshes, a new TTL) rather than adding another, so
// the schedule never holds more entries than there are owners.
type task struct {
	at    time.Time
	index int // position in the heap; -1 when not scheduled
	kind  taskKind
	rec   *Record
	name  string // type or instance key
	req   *resolveReq
}

type taskKind int

const (
	taskQuery          taskKind = iota // the next PTR query for a browsed type
	taskRecord                         // a record's next refresh query, or its expiry
	taskResolve                        // an incomplete instance: ask again, then report it as it is
	taskResolveRequest                 // a Resolve call: retransmit
	taskBacklog                        // questions waiting for the query budget
)

type schedule []*task

func (h schedule) Len() int           { return len(h) }
func (h schedule) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h schedule) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *schedule) Push(x any) {
	t := x.(*task)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *schedule) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// set schedules t at at, moving it if it is already scheduled.
func (h *schedule) set(t *task, at time.Time) {
	t.at = at
	if t.index >= 0 && t.index < len(*h) && (*h)[t.index] == t {
		heap.Fix(h, t.index)
		return
	}
	heap.Push(h, t)
}

// cancel unschedules t.
func (h *schedule) cancel(t *task) {
	if t.index >= 0 && t.index < len(*h) && (*h)[t.index] == t {
		heap.Remove(h, t.index)
	}
	t.index = -1
}

func (h schedule) next() (time.Time, bool) {
	if len(h) == 0 {
		return time.Time{}, false
	}
	return h[0].at, true
}

// popDue removes and returns the earliest task if it is due.
func (h *schedule) popDue(now time.Time) *task {
	if len(*h) == 0 || (*h)[0].at.After(now) {
		return nil
	}
	return heap.Pop(h).(*task)
}

func newTask(kind taskKind) *task { return &task{kind: kind, index: -1} }
