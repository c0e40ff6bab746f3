package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/doctor"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
)

type doctorOptions struct {
	IO       *iostreams.IOStreams
	Listen   func(context.Context, mdns.Config) (Link, error)
	Global   *globalOptions
	Instance string
	Type     string
	Wait     time.Duration
	Read     string // a capture file instead of the network

	Interfaces     func() ([]net.Interface, error)
	InterfaceAddrs func(net.Interface) []netip.Addr
}

func newCmdDoctor(f *Factory, g *globalOptions) *cobra.Command {
	opts := &doctorOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Interfaces: f.Interfaces, InterfaceAddrs: f.InterfaceAddrs}
	cmd := &cobra.Command{
		Use:   "doctor [[INSTANCE] TYPE]",
		Short: "Explain why a service or its TXT data is not seen",
		Long: `Doctor checks the machine (interfaces, port 5353, a loop test that advertises a
temporary service and watches it come back on each interface, what is heard
on the link), then, given a service type (and optionally an instance), whether
it is announced, whether it answers PTR, SRV, TXT and address questions (QM and
QU), and exactly what its TXT record holds. It ends with platform hints: what
Apple's NWBrowser needs to deliver TXT metadata, and the Info.plist keys.

Questions wait until a second has passed since the record was last multicast
(a responder stays silent for that second, RFC 6762 §6) and are asked again
once, so a healthy responder is never reported silent.

--read FILE examines a pcap or pcapng capture instead (plain or gzip; - for
standard input): what packets alone can say (was the TXT on the wire and what
it held, did anyone ask for it, were the questions answered, did two
responders conflict); the steps that need this machine are named as skipped.

Output: a short verdict first, then pass/warn/fail lines with the reason and
the RFC section or platform document. Exit 1 when anything fails.`,
		Example: `  bonjourctl doctor
  bonjourctl doctor _p2p._tcp
  bonjourctl doctor "Node 1" _p2p._tcp
  bonjourctl doctor --read customer.pcapng _p2p._tcp`,
		Args: positional(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 1:
				opts.Type = args[0]
			case 2:
				opts.Instance, opts.Type = args[0], args[1]
			}
			if opts.Type != "" && !strings.Contains(opts.Type, "._tcp") && !strings.Contains(opts.Type, "._udp") {
				return flagErrorf("%q is not a service type like _p2p._tcp", opts.Type)
			}
			if opts.Wait <= 0 {
				return flagErrorf("--wait must be positive, got %v", opts.Wait)
			}
			if opts.Read != "" && opts.Type == "" {
				return flagErrorf("--read needs a service type to examine (doctor --read FILE [INSTANCE] TYPE)")
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Wait, "wait", 3*time.Second, "Listen this `duration` in each step")
	cmd.Flags().StringVar(&opts.Read, "read", "", "Examine a pcap or pcapng `file` (- for standard input) instead of the network")
	return cmd
}

func doctorRun(ctx context.Context, o *doctorOptions) error {
	var link Link
	defer func() {
		if link != nil {
			link.Close()
		}
	}()
	var rep *doctor.Report
	var err error
	if o.Read != "" {
		next, name, _, closeFn, oerr := capturePackets(o.IO.In, o.Read, o.Global)
		if oerr != nil {
			return oerr
		}
		defer closeFn()
		rep, err = doctor.Replay(ctx, next, name, doctor.Options{Type: o.Type, Instance: o.Instance, Schemas: schema.Builtin()})
		return printDoctor(o, rep, err)
	}
	rep, err = doctor.Run(ctx, doctor.Options{
		Schemas: schema.Builtin(),
		Listen: func(ctx context.Context) (doctor.Link, error) {
			cfg := o.Global.mdnsConfig()
			cfg.Observe = true // QU answers by unicast, seen without taking them from other stacks
			l, err := o.Listen(ctx, cfg)
			if err != nil {
				return nil, err
			}
			link = l
			return l, nil
		},
		Interfaces:     o.Global.Interfaces,
		ListInterfaces: o.Interfaces,
		InterfaceAddrs: o.InterfaceAddrs,
		Type:           o.Type,
		Instance:       o.Instance,
		Wait:           o.Wait,
	})
	return printDoctor(o, rep, err)
}

// printDoctor writes the doctor's report and returns the exit status's
// error.
func printDoctor(o *doctorOptions, rep *doctor.Report, err error) error {
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	if o.Global.JSON {
		if err := json.NewEncoder(w).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "verdict: %s\n\n", rep.Verdict)
		for _, l := range rep.Lines {
			ref := ""
			if l.Ref != "" {
				ref = " (" + l.Ref + ")"
			}
			fmt.Fprintf(w, "%-4s %-10s %s%s\n", l.Level, l.Topic, l.Reason, ref)
		}
		if rep.Plist != "" {
			fmt.Fprintf(w, "\nInfo.plist for an app that browses or advertises this type:\n%s", rep.Plist)
		}
	}
	if rep.Failed() {
		w.Flush()
		return errSilent
	}
	return nil
}
