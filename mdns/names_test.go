package mdns

import (
	"testing"

	"github.com/miekg/dns"
)

// checkNameTable decodes a name at every offset of b through one nameTable
// and checks each result against dns.UnpackDomainName: reusing a remembered
// name must never change what a name decodes to, or whether it decodes.
func checkNameTable(t *testing.T, b []byte) {
	var names nameTable
	for off := 0; off < len(b); off++ {
		got, gnext, gerr := names.unpack(b, off)
		want, wnext, werr := dns.UnpackDomainName(b, off)
		if (gerr == nil) != (werr == nil) || got != want || (werr == nil && gnext != wnext) {
			t.Fatalf("offset %d: got %q %d %v, want %q %d %v", off, got, gnext, gerr, want, wnext, werr)
		}
	}
}

func TestNameTable(t *testing.T) {
	// "a.local." at 0, then names that point at it, at its suffix, and a
	// chain of pointers.
	b := []byte{1, 'a', 5, 'l', 'o', 'c', 'a', 'l', 0, 0xc0, 0, 0xc0, 2, 1, 'b', 0xc0, 9, 0xc0, 13, 0xc0, 17}
	checkNameTable(t, b)
}

// TestNameTablePointerLimit: a remembered name that took miekg/dns's limit
// of compression pointers must not be reused for a name one pointer longer,
// which miekg/dns rejects.
func TestNameTablePointerLimit(t *testing.T) {
	chain := []byte{0} // the root, then pointers each to the one before
	at := make([]int, 0, maxPointers+1)
	prev := 0
	for range maxPointers + 1 {
		at = append(at, len(chain))
		chain = append(chain, 0xc0|byte(prev>>8), byte(prev))
		prev = at[len(at)-1]
	}
	var names nameTable
	last := at[maxPointers-1] // follows exactly maxPointers pointers
	if _, _, err := names.unpack(chain, last); err != nil {
		t.Fatalf("name of %d pointers: %v", maxPointers, err)
	}
	_, _, err := names.unpack(chain, at[maxPointers])
	if _, _, werr := dns.UnpackDomainName(chain, at[maxPointers]); werr == nil || err == nil {
		t.Fatalf("name of %d pointers: got error %v, miekg/dns %v; want both to fail", maxPointers+1, err, werr)
	}
	checkNameTable(t, chain)
}

func FuzzNameTable(f *testing.F) {
	f.Add([]byte{1, 'a', 5, 'l', 'o', 'c', 'a', 'l', 0, 0xc0, 0, 0xc0, 2, 1, 'b', 0xc0, 9})
	f.Fuzz(func(t *testing.T, b []byte) { checkNameTable(t, b) })
}
