package cli

import (
	"fmt"
	"io"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/expect"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/spf13/pflag"
)

// expectFlags are --expect, --expect-txt-hex and --expect-state, shared by
// browse --instance and resolve.
type expectFlags struct {
	Pairs    []string
	TXTHex   string
	TXTState string
	list     []expect.Expectation
}

func (e *expectFlags) add(fl *pflag.FlagSet) {
	fl.StringArrayVar(&e.Pairs, "expect", nil, "Expect this TXT `key=value` (key= empty value, key boolean; repeatable)")
	fl.StringVar(&e.TXTHex, "expect-txt-hex", "", "Expect exactly this TXT RDATA (`hex`)")
	fl.StringVar(&e.TXTState, "expect-state", "", "Expect this TXT `state`: present, empty, missing or zero-length")
}

// given says whether any expectation flag was used.
func (e *expectFlags) given() bool {
	return len(e.Pairs) > 0 || e.TXTHex != "" || e.TXTState != ""
}

// parse turns the flags into expectations (usage errors: exit 2).
func (e *expectFlags) parse() error {
	e.list = nil
	for _, p := range e.Pairs {
		x, err := expect.Pair(p)
		if err != nil {
			return &FlagError{err}
		}
		e.list = append(e.list, x)
	}
	if e.TXTHex != "" {
		x, err := expect.RData(e.TXTHex)
		if err != nil {
			return &FlagError{err}
		}
		e.list = append(e.list, x)
	}
	if e.TXTState != "" {
		x, err := expect.State(e.TXTState)
		if err != nil {
			return &FlagError{err}
		}
		e.list = append(e.list, x)
	}
	return nil
}

// unmet lists what svc does not meet.
func (e *expectFlags) unmet(svc *browse.Service) []string { return expect.Unmet(e.list, svc) }

// report writes the verdict for svc (nil: never seen, within says where
// it was looked for) to w: "ok NAME: N expectations met" or one "FAIL"
// line per unmet expectation; errUnmet when any is unmet. resolved says
// whether the instance's SRV and TXT both arrived; expectations met by an
// instance that was not resolved do not pass.
func (e *expectFlags) report(w io.Writer, name string, svc *browse.Service, resolved bool, within string) error {
	name = mdns.EscapeText(name)
	if svc == nil {
		fmt.Fprintf(w, "FAIL %s was not seen %s\n", name, within)
		return errUnmet
	}
	unmet := e.unmet(svc)
	if len(unmet) == 0 && resolved {
		s := "s"
		if len(e.list) == 1 {
			s = ""
		}
		fmt.Fprintf(w, "ok %s: %d expectation%s met\n", name, len(e.list), s)
		return nil
	}
	for _, u := range unmet {
		fmt.Fprintf(w, "FAIL %s %s\n", name, u)
	}
	if len(unmet) == 0 {
		fmt.Fprintf(w, "FAIL %s was seen but not fully resolved %s (state %s)\n", name, within, svc.State)
	}
	return errUnmet
}
