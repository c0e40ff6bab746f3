package cli

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/ipudp"
	"github.com/bonjourctl/bonjourctl/internal/netlab"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// fragmentedCapture writes a pcap (Ethernet) holding a 3.7 KB mDNS
// response with a big TXT record in three IPv4 fragments, as a responder
// sends it on a 1500-byte link, the middle fragment first, then an ARP
// frame and a lone fragment of another datagram. It returns the path and
// the TXT's strings.
func fragmentedCapture(t *testing.T) (string, []string) {
	t.Helper()
	var txt []string
	for i := range 36 {
		txt = append(txt, "k"+strings.Repeat("x", 96)+string(rune('a'+i%26)))
	}
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: `Big._p2p._tcp.local.`, Rrtype: dns.TypeTXT, Class: dns.ClassINET | 1<<15, Ttl: 4500}, Txt: txt}}
	msg, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	ip := ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.AddrPortFrom(mdns.GroupV4, mdns.Port), 255, msg)
	ip[6] = 0 // may be fragmented
	binary.BigEndian.PutUint16(ip[4:], 0x1234)
	var frags [][]byte
	for off := 0; off < len(ip)-20; off += 1480 {
		end := min(off+1480, len(ip)-20)
		f := append(append([]byte(nil), ip[:20]...), ip[20+off:20+end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		v := uint16(off / 8)
		if end < len(ip)-20 {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], v)
		f[10], f[11] = 0, 0
		var s uint32
		for i := 0; i < 20; i += 2 {
			s += uint32(binary.BigEndian.Uint16(f[i:]))
		}
		for s>>16 != 0 {
			s = s&0xffff + s>>16
		}
		binary.BigEndian.PutUint16(f[10:], ^uint16(s))
		frags = append(frags, f)
	}
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	eth := func(et uint16, p []byte) []byte {
		b := []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb, 0x02, 0x88, 0, 0, 0, 2, byte(et >> 8), byte(et)}
		return append(b, p...)
	}
	lone := append([]byte(nil), frags[0]...)
	binary.BigEndian.PutUint16(lone[4:], 0x9999)
	frames := [][]byte{eth(0x0800, frags[1]), eth(0x0800, frags[0]), eth(0x0800, frags[2]), eth(0x0806, make([]byte, 28)), eth(0x0800, lone)}
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	file := hdr
	t0 := time.Unix(1_700_000_000, 0)
	for i, f := range frames {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec, uint32(t0.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(i*100))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		file = append(append(file, rec...), f...)
	}
	path := filepath.Join(t.TempDir(), "fragments.pcap")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, txt
}

// TestCaptureReadFragments: the fragmented response is shown once,
// reassembled, with every TXT string, and the summary accounts for each
// of the five frames.
func TestCaptureReadFragments(t *testing.T) {
	path, txt := fragmentedCapture(t)
	code, out, errOut := run(t, "", "capture", "--read", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d packets shown, want the one reassembled response:\n%s", len(lines), out)
	}
	var p struct {
		Frame   int `json:"frame"`
		Answers []struct {
			Type string `json:"type"`
			TXT  struct {
				Strings []struct {
					Text string `json:"text"`
				} `json:"strings"`
			} `json:"txt"`
		} `json:"answers"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range p.Answers {
		for _, s := range a.TXT.Strings {
			got = append(got, s.Text)
		}
	}
	if len(p.Answers) != 1 || p.Answers[0].Type != "TXT" || strings.Join(got, ",") != strings.Join(txt, ",") || p.Frame != 3 {
		t.Errorf("reassembled response: frame %d, answers %+v; want frame 3 (the last fragment) with the TXT's %d strings", p.Frame, p.Answers, len(txt))
	}
	want := "5 frames read: 1 mDNS packets (1 reassembled from IP fragments), 1 shown, 0 filtered out; 2 frames skipped: 1 not IP, 1 fragments of datagrams never completed\n"
	if errOut != want {
		t.Errorf("summary:\n%q\nwant\n%q", errOut, want)
	}
}

// TestCaptureReadFragmentsLikeTshark: tshark reassembles the same file to
// the same TXT record.
func TestCaptureReadFragmentsLikeTshark(t *testing.T) {
	tshark := netlab.LookPath(t, "tshark")
	path, txt := fragmentedCapture(t)
	out, err := exec.Command(tshark, "-r", path, "-Y", "mdns", "-T", "fields", "-e", "frame.number", "-e", "dns.txt").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	fields := strings.SplitN(strings.TrimSpace(string(out)), "\t", 2)
	if len(fields) != 2 || fields[0] != "3" || fields[1] != strings.Join(txt, ",") {
		t.Fatalf("tshark shows %q; want frame 3 with the TXT's %d strings", out, len(txt))
	}
}

// TestCaptureReadLikeTshark: the lab's captures (avahi-daemon and
// python3-zeroconf; grandcat) read by bonjourctl's reader and by tshark:
// the same mDNS frames, and in each the same TXT strings by length.
func TestCaptureReadLikeTshark(t *testing.T) {
	tshark := netlab.LookPath(t, "tshark")
	for _, file := range []string{"testdata/peers.pcapng", "testdata/grandcat.pcapng"} {
		out, err := exec.Command(tshark, "-r", file, "-Y", "mdns", "-T", "fields", "-e", "frame.number", "-e", "dns.txt.length").Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v", file, err)
		}
		want := strings.TrimSpace(string(out))
		fh, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapfile.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			p, frame, err := r.Next()
			if err != nil {
				break
			}
			m, err := mdns.Parse(p.Raw)
			if err != nil {
				t.Fatalf("%s frame %d: %v", file, frame, err)
			}
			var lens []string
			for _, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
				for i := range sec {
					if sec[i].Type != mdns.TypeTXT {
						continue
					}
					rec, _ := sec[i].TXT()
					for _, s := range rec.Strings {
						lens = append(lens, strconv.Itoa(len(s)))
					}
				}
			}
			got = append(got, strconv.Itoa(frame)+"\t"+strings.Join(lens, ","))
		}
		fh.Close()
		if g := strings.TrimSpace(strings.Join(got, "\n")); g != want {
			t.Errorf("%s: bonjourctl reads\n%s\ntshark reads\n%s", file, g, want)
		}
	}
}
