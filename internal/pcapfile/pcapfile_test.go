package pcapfile

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/bonjourctl/bonjourctl/internal/ipudp"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// readAll reads every packet of b; it returns how many and the error that
// ended the reading (io.EOF at a clean end), or NewReader's error.
func readAll(b []byte) (n int, err, openErr error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	for {
		if _, _, err := r.Next(); err != nil {
			return n, err, nil
		}
		n++
	}
}

// TestTruncatedPcapng cuts a real capture at every byte: a cut between
// blocks reads the packets before it and ends cleanly; a cut inside a
// block reads them too, then says the file was cut short and after which
// frame. The file is little-endian pcapng whose blocks are walked here.
func TestTruncatedPcapng(t *testing.T) {
	file, err := os.ReadFile("../cli/testdata/peers.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	boundary := map[int]int{} // block end offset -> packets in the blocks up to it
	packets := 0
	for off := 0; off < len(file); {
		typ, length := binary.LittleEndian.Uint32(file[off:]), int(binary.LittleEndian.Uint32(file[off+4:]))
		if typ == 6 { // enhanced packet block
			packets++
		}
		off += length
		boundary[off] = packets
	}
	if packets != 23 || boundary[len(file)] != 23 {
		t.Fatalf("walked %d packets, want 23", packets)
	}
	opened := false // NewReader reads the section header and first interface block
	for cut := 0; cut <= len(file); cut++ {
		n, err, openErr := readAll(file[:cut])
		var te *TruncatedError
		switch want, atBoundary := boundary[cut]; {
		case openErr != nil:
			if opened {
				t.Fatalf("cut at %d: NewReader: %v, though a shorter cut opened", cut, openErr)
			}
		case atBoundary:
			opened = true
			if n != want || !errors.Is(err, io.EOF) {
				t.Fatalf("cut at %d (between blocks): %d packets, %v; want %d and EOF", cut, n, err, want)
			}
		default:
			opened = true
			if !errors.As(err, &te) || te.Frames != n {
				t.Fatalf("cut at %d (inside a block): %d packets, %v; want a TruncatedError after them", cut, n, err)
			}
		}
	}
}

// TestGzip: a gzip-compressed pcapng reads as the file itself; cut short,
// it says so after the frames it could read.
func TestGzip(t *testing.T) {
	file, err := os.ReadFile("../cli/testdata/peers.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err, openErr := readAll(gz.Bytes()); n != 23 || !errors.Is(err, io.EOF) || openErr != nil {
		t.Errorf("gzip pcapng: %d packets, %v, %v; want 23 and EOF", n, err, openErr)
	}
	var te *TruncatedError
	n, err, openErr := readAll(gz.Bytes()[:gz.Len()/2])
	if openErr != nil || !errors.As(err, &te) || te.Frames != n || n == 0 || n >= 23 {
		t.Errorf("half the gzip stream: %d packets, %v, %v; want some, then a TruncatedError", n, err, openErr)
	}
}

// TestTruncatedPcap: a classic pcap file cut inside its second record.
func TestTruncatedPcap(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	ip := ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.AddrPortFrom(mdns.GroupV4, 5353), 255, make([]byte, 12))
	for range 2 {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, 0), CaptureLength: len(ip), Length: len(ip)}, ip); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	if n, err, _ := readAll(b); n != 2 || !errors.Is(err, io.EOF) {
		t.Fatalf("whole file: %d packets, %v", n, err)
	}
	end1 := 24 + 16 + len(ip) // file header, then one record
	if n, err, _ := readAll(b[:end1]); n != 1 || !errors.Is(err, io.EOF) {
		t.Errorf("cut after record 1: %d packets, %v; want 1 and EOF", n, err)
	}
	for _, cut := range []int{end1 + 3, end1 + 16 + 5, len(b) - 1} {
		var te *TruncatedError
		if n, err, _ := readAll(b[:cut]); n != 1 || !errors.As(err, &te) || te.Frames != 1 {
			t.Errorf("cut at %d: %d packets, %v; want 1 and a TruncatedError after frame 1", cut, n, err)
		}
	}
}
