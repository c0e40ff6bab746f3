package browse

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// Question is a one-shot query for Ask.
type Question struct {
	Questions []mdns.Question
	Known     []mdns.KnownAnswer // RFC 6762 §7.1
	// ID is the query ID: 0 in mDNS, random for a legacy query.
	ID uint16
	// Legacy sends from the link's legacy port, as a plain DNS client does
	// (RFC 6762 §6.7); replies come back by unicast to that port.
	Legacy bool
	// Retransmit asks again at 1 s, 2 s, 4 s... after the first query
	// until the answer function reports an answer (RFC 6762 §5.2, and
	// §6: a responder is silent for a record it multicast less than a
	// second before, so one unanswered question proves nothing).
	Retransmit bool
}

// AskResult says what Ask sent.
type AskResult struct {
	Queries       int       // queries sent (each on every interface and family)
	First         time.Time // when the first went
	Answered      time.Time // when the answer function first reported an answer; zero if never
	SendErrors    int       // queries that failed on some interface or family
	LastSendError error
}

// Ask sends a one-shot query (RFC 6762 §5.1) and calls answer with every
// response that arrives until ctx ends; answer reports whether the response
// answers the question (which stops retransmission). The query goes out at
// once: a one-shot query needs no §5.2 start delay. Ask returns when ctx
// ends, with ctx's error only if no query could be sent.
func Ask(ctx context.Context, link Link, q Question, answer func(p *mdns.Packet, m *mdns.Message) bool) (AskResult, error) {
	sub := link.Subscribe("ask", 0)
	defer sub.Close()
	var res AskResult
	send := func() {
		err := SendQuery(link, q)
		if res.Queries == 0 {
			res.First = time.Now()
		}
		res.Queries++
		if err != nil {
			res.SendErrors++
			res.LastSendError = err
		}
	}
	send()
	interval := time.Second
	timer := time.NewTimer(interval)
	defer timer.Stop()
	if !q.Retransmit {
		timer.Stop()
	}
	for {
		select {
		case <-ctx.Done():
			if res.SendErrors == res.Queries {
				return res, errors.Join(ctx.Err(), res.LastSendError)
			}
			return res, nil
		case p, ok := <-sub.C():
			if !ok {
				return res, net.ErrClosed
			}
			m, _ := mdns.Parse(p.Raw)
			if m.Response() && answer(&p, m) && res.Answered.IsZero() {
				res.Answered = time.Now()
				timer.Stop()
			}
		case <-timer.C:
			if res.Answered.IsZero() {
				send()
				interval = min(interval*2, time.Minute)
				timer.Reset(interval)
			}
		}
	}
}

// SendQuery packs a query (its known answers continued in further packets
// when they need them, RFC 6762 §7.2) and sends it on every interface and
// family of link: the one way bonjourctl sends a question. It returns nil
// only when every packet went out everywhere; a *mdns.SendErrors says where
// it did not and how many datagrams did go out.
func SendQuery(link Link, q Question) error {
	msgs, err := mdns.Query{ID: q.ID, Questions: q.Questions, Known: q.Known}.Pack(link.PayloadLimit())
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if serr := link.Send(m, mdns.Dest{Legacy: q.Legacy}); serr != nil {
			err = serr
		}
	}
	return err
}

// Answers returns the records of a response (answers and additional
// records) that answer a question for name and type: same name, and same
// type, or any type for ANY, or an NSEC saying the type does not exist.
func Answers(m *mdns.Message, name string, typ uint16) []*mdns.Record {
	var out []*mdns.Record
	for _, sec := range [][]mdns.Record{m.Answers, m.Additional} {
		for i := range sec {
			r := &sec[i]
			if mdns.EqualNames(r.Name, name) && (typ == mdns.TypeANY || r.Type == typ || r.Type == mdns.TypeNSEC) {
				out = append(out, r)
			}
		}
	}
	return out
}
