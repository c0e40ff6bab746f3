package netlab

import (
	"bufio"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lines starts cmd and returns its standard output, a line at a time; the
// channel closes when the output ends.
func Lines(t testing.TB, cmd *exec.Cmd) <-chan string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// NextLine returns the first line from ch within d that match accepts; ok
// is false when d passes or the output ends first.
func NextLine(ch <-chan string, d time.Duration, match func(string) bool) (line string, ok bool) {
	timeout := time.After(d)
	for {
		select {
		case l, open := <-ch:
			if !open {
				return "", false
			}
			if match(l) {
				return l, true
			}
		case <-timeout:
			return "", false
		}
	}
}

// WaitLine is NextLine that fails the test when no line matches in time.
func WaitLine(t testing.TB, ch <-chan string, d time.Duration, match func(string) bool) string {
	t.Helper()
	l, ok := NextLine(ch, d, match)
	if !ok {
		t.Fatalf("no matching line within %v (or the process ended)", d)
	}
	return l
}

// Containing matches lines that contain s.
func Containing(s string) func(string) bool {
	return func(l string) bool { return strings.Contains(l, s) }
}

// Buffer collects a child's output while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
