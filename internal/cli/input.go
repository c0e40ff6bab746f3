package cli

import (
	"fmt"
	"io"
	"os"
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
