package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// readAtMost reads r to the end, or fails once it holds more than limit
// bytes: input is never cut without a word, nor read without bound (a
// file that is /dev/zero, a pipe that never ends).
func readAtMost(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// readFileAtMost is readAtMost on the file at path.
func readFileAtMost(path string, limit int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := readAtMost(fh, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// capturePackets opens a capture file (standard input for "-") for the
// commands that read one instead of the network, and returns its packets
// that the global -i, -4 and -6 select, the file's name for messages, and
// its reader's account.
func capturePackets(stdin io.Reader, path string, g *globalOptions) (next func() (mdns.Packet, error), name string, stats func() pcapfile.Stats, closeFn func(), err error) {
	in, name, closeFn := stdin, "standard input", func() {}
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, "", nil, nil, err
		}
		in, name, closeFn = fh, path, func() { fh.Close() }
	}
	r, err := pcapfile.NewReader(in)
	if err != nil {
		closeFn()
		return nil, "", nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	next = func() (mdns.Packet, error) {
		for {
			p, _, err := r.Next()
			if errors.Is(err, io.EOF) {
				return p, err
			}
			if err != nil {
				return p, fmt.Errorf("%s: %w", name, err)
			}
			if (g.IPv4 && p.Family() != 4) || (g.IPv6 && p.Family() != 6) {
				continue
			}
			if len(g.Interfaces) > 0 && !slices.Contains(g.Interfaces, p.IfName) {
				continue
			}
			return p, nil
		}
	}
	return next, name, r.Stats, closeFn, nil
}
