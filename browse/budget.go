package browse

import (
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// budget bounds what the browser sends, whatever the network makes it
// want to: no question goes out again within a quarter second of the last
// time (the closest RFC 6762 §5.2 refreshes come, 5% of a 10 s TTL apart,
// is half a second), and
// query packets are paced by a token bucket, so a host that announces
// thousands of service types or instances cannot make bonjourctl flood
// the link. Questions over the budget wait in a bounded backlog; what
// does not fit is dropped and counted.
type budget struct {
	rate     float64 // packets a second
	burst    float64
	tokens   float64
	last     time.Time
	asked    map[nameType]time.Time // when each question last went out
	backlog  []pending
	queued   int // questions in backlog
	due      *task
	deferred uint64 // questions that waited for the budget
	dropped  uint64 // questions dropped: the backlog was full
}

type pending struct {
	qs    []mdns.Question
	known []mdns.KnownAnswer
}

// Budget limits (defaults of Config.QueryRate and the backlog).
const (
	defaultQueryRate = 40   // query packets a second, sustained
	defaultBurst     = 80   // at once
	maxBacklog       = 4096 // questions waiting for the budget
	maxAsked         = 1 << 16
)

func newBudget(rate int) *budget {
	if rate <= 0 {
		rate = defaultQueryRate
	}
	b := &budget{rate: float64(rate), burst: float64(max(rate*2, defaultBurst)), asked: map[nameType]time.Time{}, due: newTask(taskBacklog)}
	b.tokens = b.burst
	return b
}

func (b *budget) refill(now time.Time) {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// minRepeat is the least time between two sends of one question.
const minRepeat = 250 * time.Millisecond

// fresh drops the questions that went out less than minRepeat ago.
func (b *budget) fresh(now time.Time, qs []mdns.Question) []mdns.Question {
	out := qs[:0:0]
	for _, q := range qs {
		k := nameType{mdns.NameKey(q.Name), q.Type}
		if at, ok := b.asked[k]; ok && now.Sub(at) < minRepeat {
			continue
		}
		out = append(out, q)
	}
	return out
}

// take spends one packet's token; false means wait.
func (b *budget) take(now time.Time) bool {
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sent notes when questions went out.
func (b *budget) sent(now time.Time, qs []mdns.Question) {
	if len(b.asked) > maxAsked {
		for k, at := range b.asked {
			if now.Sub(at) >= minRepeat {
				delete(b.asked, k)
			}
		}
	}
	for _, q := range qs {
		b.asked[nameType{mdns.NameKey(q.Name), q.Type}] = now
	}
}

// defer queues questions for when a token comes.
func (b *budget) wait(p pending) {
	if b.queued+len(p.qs) > maxBacklog {
		b.dropped += uint64(len(p.qs))
		return
	}
	b.backlog = append(b.backlog, p)
	b.queued += len(p.qs)
	b.deferred += uint64(len(p.qs))
}

// nextToken is when the next token arrives.
func (b *budget) nextToken(now time.Time) time.Time {
	need := 1 - b.tokens
	if need <= 0 {
		return now
	}
	return now.Add(time.Duration(need / b.rate * float64(time.Second)))
}
