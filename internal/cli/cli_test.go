package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

var update = flag.Bool("update", false, "update golden files")

// run executes bonjourctl with args and stdin, returning exit code, stdout
// and stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	f := &Factory{IOStreams: ios, Now: time.Now, Getenv: func(string) string { return "" }}
	code := Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", t.Name(), name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// goldenCapture decodes a capture file as text and as JSON, compares both
// with the test's golden files, and returns the text and the JSON lines,
// which must be one per packet.
func goldenCapture(t *testing.T, file string, packets int) (string, []string) {
	t.Helper()
	time.Local = time.UTC // golden times
	code, text, errOut := run(t, "", "capture", "--read", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "text", text)
	code, out, errOut := run(t, "", "capture", "--read", file, "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	golden(t, "json", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != packets {
		t.Fatalf("%d JSON lines, want %d (one per packet)", len(lines), packets)
	}
	return text, lines
}

func TestCaptureRead(t *testing.T) {
	_, lines := goldenCapture(t, "testdata/peers.pcapng", 23)
	// python3-zeroconf's TXT on the wire: exact bytes and the cache-flush bit.
	found := false
	for _, l := range lines {
		var p struct {
			Answers []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				CacheFlush bool   `json:"cacheFlush"`
				RData      string `json:"rdata"`
				TXT        struct {
					Strings []struct {
						Text string `json:"text"`
					} `json:"strings"`
				} `json:"txt"`
			} `json:"answers"`
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Answers {
			if a.Type == "TXT" && strings.HasPrefix(a.Name, `ZC\ Node`) && strings.HasPrefix(a.RData, "096b65793d76616c756504666c6167") {
				found = true
				if !a.CacheFlush || a.TXT.Strings[3].Text != `bin=\x00\x01\x7f\x80\xfe\xff"=\x0a\x09` {
					t.Errorf("TXT answer = %+v", a)
				}
			}
		}
	}
	if !found {
		t.Error("python3-zeroconf's edge TXT record not found in JSON output")
	}
}

// TestCaptureReadStdinCutShort: --read - reads standard input; a capture
// cut short in the middle of a frame has every complete frame printed, then
// an error naming the cut, exit 1.
func TestCaptureReadStdinCutShort(t *testing.T) {
	time.Local = time.UTC
	file, err := os.ReadFile("testdata/peers.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	code, whole, _ := run(t, string(file), "capture", "--read", "-")
	if code != 0 || strings.Count(whole, "\n#") != 22 {
		t.Fatalf("--read - of the whole file: exit %d, %d packets", code, strings.Count(whole, "\n#")+1)
	}
	if code, out, _ := run(t, string(file), "capture", "--read", "-", "--count", "3", "--json"); code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("--read - --count 3: exit %d, %d lines", code, strings.Count(out, "\n"))
	}
	code, out, errOut := run(t, string(file[:3000]), "capture", "--read", "-")
	if code != 1 || errOut != "13 frames read: 13 mDNS packets, 13 shown, 0 filtered out\nbonjourctl: standard input: the file is cut short after frame 13, in the middle of what follows (as when a capture is stopped while writing); the 13 frames before the cut were read\n" {
		t.Errorf("cut at 3000 bytes: exit %d, stderr %q", code, errOut)
	}
	if i := strings.Index(whole, "#14 "); i < 0 || out != whole[:i] {
		t.Errorf("cut at 3000 bytes: output is not the first 13 packets of the whole file:\n%s", out)
	}
}

// TestCaptureReadStreams: from a pipe, --read - prints each packet as soon
// as its frame has arrived, not when the pipe closes.
func TestCaptureReadStreams(t *testing.T) {
	file, err := os.ReadFile("testdata/peers.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	last := 0 // where the last block starts (the file is little-endian pcapng)
	for off := 0; off < len(file); off += int(binary.LittleEndian.Uint32(file[off+4:])) {
		last = off
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	f := &Factory{IOStreams: &iostreams.IOStreams{In: inR, Out: outW, ErrOut: io.Discard}, Now: time.Now, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), f, []string{"capture", "--read", "-"})
		outW.Close()
	}()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitFor := func(prefix string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q line within 10 s", prefix)
			}
		}
	}
	go func() { _, _ = inW.Write(file[:last]) }()
	waitFor("#22 ") // printed while the pipe is open
	go func() { _, _ = inW.Write(file[last:]); inW.Close() }()
	waitFor("#23 ")
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	for range lines {
	}
}

// TestCaptureReadGrandcat: the packets of github.com/grandcat/zeroconf (a
// Go peer) as a user sees them: the zero-length TXT RDATA it sends for a
// service without TXT strings flagged as an error, in text and in JSON.
func TestCaptureReadGrandcat(t *testing.T) {
	text, lines := goldenCapture(t, "testdata/grandcat.pcapng", 26)
	if !strings.Contains(text, `an GC\ Empty._p2p._tcp.local. TXT IN flush ttl 3200 (zero-length rdata)`+"\n     ! txt error zero-length-rdata") {
		t.Error("text output does not flag GC Empty's zero-length TXT")
	}
	zero := 0
	for _, l := range lines {
		var p struct {
			Answers []struct {
				Name     string `json:"name"`
				Type     string `json:"type"`
				RDLength int    `json:"rdlength"`
				TXT      *struct {
					ZeroLength bool `json:"zeroLength"`
					Findings   []struct {
						Code string `json:"code"`
					} `json:"findings"`
				} `json:"txt"`
			} `json:"answers"`
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Answers {
			if a.Type != "TXT" || !strings.HasPrefix(a.Name, `GC\ Empty.`) {
				continue
			}
			zero++
			if a.RDLength != 0 || a.TXT == nil || !a.TXT.ZeroLength || len(a.TXT.Findings) == 0 || a.TXT.Findings[0].Code != "zero-length-rdata" {
				t.Errorf("GC Empty TXT answer = %+v", a)
			}
		}
	}
	if zero == 0 {
		t.Error("no TXT answer for GC Empty in the JSON output")
	}
}

func TestCaptureFilters(t *testing.T) {
	count := func(args ...string) int {
		code, out, errOut := run(t, "", append([]string{"capture", "--read", "testdata/peers.pcapng", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errOut)
		}
		return strings.Count(out, "\n")
	}
	all := count()
	zc := count("--host", "10.88.0.3")
	byType := count("--type", "_p2p._tcp")
	byName := count("--name", "ZC Node._p2p._tcp.local")
	if !(zc > 0 && zc < all) || !(byType > 0 && byType <= all) || !(byName > 0 && byName < byType) {
		t.Errorf("all %d, host 10.88.0.3 %d, type %d, name %d: filters do not narrow", all, zc, byType, byName)
	}
	if n := count("--count", "2"); n != 2 {
		t.Errorf("--count 2 printed %d packets", n)
	}
	if n := count("--type", "_nothing._udp"); n != 0 {
		t.Errorf("unknown type matched %d packets", n)
	}
	// Reading a file, -4, -6 and -i select packets as they select sockets live.
	v4, v6 := count("-4"), count("-6")
	if v4 != 17 || v6 != 6 {
		t.Errorf("-4 %d, -6 %d packets of %d; want 17 and 6", v4, v6, all)
	}
	if n := count("-i", "eth0"); n != all {
		t.Errorf("-i eth0 matched %d of %d packets", n, all)
	}
	if n := count("-i", "eth1"); n != 0 {
		t.Errorf("-i eth1 matched %d packets (the file has only eth0)", n)
	}
	if n := count("-6", "--host", "10.88.0.3"); n != 0 {
		t.Errorf("-6 with an IPv4 --host matched %d packets", n)
	}
}

func TestDecode(t *testing.T) {
	// An mDNS announcement from the corpus wrapped in IPv4/UDP by the
	// same code capture uses to write pcapng.
	const msg = "000084000000000100000000036e6f64056c6f63616c000010800100001194000a096b65793d76616c7565"
	ipv4 := "4500004700004000ff1190500a580002e00000fb14e914e90033413c" + msg

	code, out, errOut := run(t, "", "decode", msg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "plain", out)

	code, out, errOut = run(t, ipv4, "decode", "-")
	golden(t, "ipv4", out+"exit "+string(rune('0'+code))+"\n"+errOut)

	ipv6 := "60000000003311fffe80000000000000008800fffe000002ff0200000000000000000000000000fb14e914e900332e89" + msg
	code, out, errOut = run(t, "", "decode", "--json", ipv6)
	var res struct {
		IP struct {
			Family int    `json:"family"`
			Src    string `json:"src"`
			Valid  bool   `json:"valid"`
		} `json:"ip"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("ipv6 decode: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if res.IP.Family != 6 || !res.IP.Valid || res.IP.Src != "[fe80::88:ff:fe00:2]:5353" {
		t.Errorf("ipv6 decode = %+v", res.IP)
	}
	// A DNS response over IPv4 like the one in the issue that asked for
	// decode (8.8.8.8 answering time.apple.com; its IP header exactly):
	// every field checks out, and with the post's UDP checksum (for other
	// DNS bytes) decode says which field is wrong and what it should be.
	const forum = "450000895e37400040110b1108080808c0a800640035ed6e00756a64" +
		"5e50818000010004000000000474696d65056170706c6503636f6d0000010001" +
		"c00c000500010000012c00110474696d650167076161706c696d67c017" +
		"c02c0001000100000020000411fd047d" + "c02c0001000100000020000411fd0efd" + "c02c0001000100000020000411fd10fd"
	code, out, errOut = run(t, "", "decode", forum)
	golden(t, "forum-ipv4", out+"exit "+string(rune('0'+code))+"\n"+errOut)
	code, _, errOut = run(t, "", "decode", strings.Replace(forum, "00756a64", "007591e8", 1))
	if code != 1 || errOut != "bonjourctl: UDP checksum (offset 26) is wrong: 0x91e8, should be 0x6a64\n" {
		t.Errorf("forum packet with the post's UDP checksum: exit %d, stderr %q", code, errOut)
	}
	// Only the first 28 bytes, as quoted: the lengths say what is missing.
	code, out, _ = run(t, "", "decode", "45 00 00 89 5e 37 40 00 40 11 0b 11 08 08 08 08 c0 a8 00 64 00 35 ed 6e 00 75 91 e8")
	if code != 1 || !strings.Contains(out, "WRONG IPv4 total length (offset 2) is 0x0089, should be 0x001c (the packet has 28 bytes)") ||
		!strings.Contains(out, "ok    IPv4 header checksum (offset 10) 0x0b11") {
		t.Errorf("forum header alone: exit %d\n%s", code, out)
	}

	// Record data that does not decode is shown as hex with the reason;
	// the records after it still decode.
	const badData = "000084000000000300000000" +
		"017800000100010000007800030a0000" + // A with 3 bytes
		"017800000c00010000007800028000" + // PTR with a reserved label type
		"01780000010001000000780004" + "0a000001"
	code, out, errOut = run(t, "", "decode", badData)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "rdata-errors", out)

	bad := strings.Replace(ipv6, "00332e89", "00332e88", 1)
	if code, _, errOut := run(t, "", "decode", bad); code != 1 || !strings.Contains(errOut, "UDP checksum (offset 46) is wrong: 0x2e88, should be 0x2e89") {
		t.Errorf("bad IPv6 UDP checksum: exit %d %q", code, errOut)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		code     int
		stderr   string
	}{
		{"odd", "0000840", 2, "bad hex at character 6: odd number of hex digits"},
		{"not hex", "00 0x 84", 2, "bad hex at character 4: 'x' is not a hex digit"},
		{"empty", "", 2, "no hex given"},
		{"too long", strings.Repeat("00", 1<<19+1), 2, "standard input: more than 1048576 bytes; decode takes one message as hex"},
		{"truncated", "0000840000000001", 1, "message is malformed: mdns: malformed message at offset 8 (header): 8 bytes"},
		{"bad checksum", "4500004700004000ff1190510a580002e00000fb14e914e90033413c000084000000000100000000036e6f64056c6f63616c000010800100001194000a096b65793d76616c7565", 1,
			"IPv4 header checksum (offset 10) is wrong: 0x9051, should be 0x9050"},
		{"bad udp length", "4500004700004000ff1190500a580002e00000fb14e914e90034413c000084000000000100000000036e6f64056c6f63616c000010800100001194000a096b65793d76616c7565", 1,
			"UDP length (offset 24) is wrong: 0x0034, should be 0x0033"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.in, "decode")
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.stderr)
			}
			if strings.Count(errOut, "bonjourctl:") != 1 {
				t.Errorf("error printed %d times, want once:\n%s", strings.Count(errOut, "bonjourctl:"), errOut)
			}
		})
	}
}

func TestTXTCommands(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"encode", "", []string{"txt", "encode", "key=value", "flag", "empty="}, 0, "096b65793d76616c756504666c616706656d7074793d\n", ""},
		{"encode empty", "", []string{"txt", "encode"}, 0, "00\n", ""},
		{"encode base64", "", []string{"txt", "encode", "-f", "base64", "key=value"}, 0, "CWtleT12YWx1ZQ==\n", ""},
		{"encode hex value", "", []string{"txt", "encode", "bin:hex=00ff"}, 0, "0662696e3d00ff\n", ""},
		{"encode refuses errors", "", []string{"txt", "encode", "=x"}, 1, "", "error empty-key"},
		{"encode force", "", []string{"txt", "encode", "--force", "=x"}, 0, "023d78\n", "error empty-key"},
		{"encode bad format", "", []string{"txt", "encode", "-f", "rust", "a=b"}, 2, "", "--format must be hex, base64, c, go or swift"},
		{"encode too long", "", []string{"txt", "encode", "a=b", "k=" + strings.Repeat("v", 254)}, 2, "", "pair 2"},
		{"encode bad hex value", "", []string{"txt", "encode", "k:hex=zz"}, 2, "", `pair 1 ("k:hex=zz"), position 6: value of "k" is not hex`},
		{"decode stdin", "096b65793d76616c7565", []string{"txt", "decode"}, 0, "0  9    value  key  value  6b65793d76616c7565", ""},
		{"decode zero-length", "", []string{"txt", "decode", "--base64", ""}, 2, "", ""},
		{"decode stdin over 1 MiB", strings.Repeat("00", 1<<19+1), []string{"txt", "decode", "-"}, 2, "", "standard input: more than 1048576 bytes; a TXT record's RDATA is at most 65535 bytes"},
		{"encode value file empty", "", []string{"txt", "encode", "--value-file", "k=" + os.DevNull}, 0, "026b3d\n", ""},
		{"decode avahi", "", []string{"txt", "decode", "--from", "avahi", `"b=2" "a=1"`}, 0, "input: avahi; 8 bytes of RDATA: 03613d3103623d32", ""},
		{"decode bad base64", "", []string{"txt", "decode", "--base64", "@@@@"}, 2, "", "base64 input, character 0: invalid base64"},
		{"decode bad from", "", []string{"txt", "decode", "--from", "xml", "00"}, 2, "", "--from must be"},
		{"lint clean", "", []string{"txt", "lint", "096b65793d76616c7565"}, 0, "lint: no findings", ""},
		{"lint error", "", []string{"txt", "lint", "0a"}, 1, "error length-overrun", ""},
		{"lint warning", "", []string{"txt", "lint", "--pairs", "a=1", "A=2"}, 0, "warning duplicate-key", ""},
		{"lint strict", "", []string{"txt", "lint", "--pairs", "--strict", "a=1", "A=2"}, 1, "warning duplicate-key", ""},
		{"lint pairs clean", "", []string{"txt", "lint", "--pairs", "--strict", "txtvers=1", "a=b"}, 0, "lint: no findings", ""},
		{"unknown flag", "", []string{"txt", "lint", "--bogus"}, 2, "", "unknown flag: --bogus"},
		{"too many args", "", []string{"decode", "00", "11"}, 2, "", "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q, stderr with %q", code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestTXTDecodeGolden(t *testing.T) {
	edge := "096b65793d76616c756504666c616706656d7074793d0e62696e3d00017f80feff223d0a09056475703d31056475703d32"
	_, out, _ := run(t, "", "txt", "decode", edge)
	golden(t, "text", out)
	_, out, _ = run(t, "", "txt", "decode", "--json", edge)
	golden(t, "json", out)
}

func TestVersionAndCompletion(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "bonjourctl ") {
		t.Errorf("version: %d %q", code, out)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, _ := run(t, "", "completion", sh)
		if code != 0 || !strings.Contains(out, "bonjourctl") {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, len(out))
		}
	}
	if code, _, errOut := run(t, "", "-4", "-6", "version"); code != 2 || !strings.Contains(errOut, "-4 and -6") {
		t.Errorf("-4 -6: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "", "nosuch"); code != 2 || !strings.Contains(errOut, `unknown command "nosuch"`) {
		t.Errorf("unknown command: exit %d %q", code, errOut)
	}
}

// bigCapture writes n packets cycling through testdata/peers.pcapng (real
// avahi-daemon and python3-zeroconf traffic) to a pcapng file.
func bigCapture(tb testing.TB, n int) string {
	tb.Helper()
	src, err := os.Open("testdata/peers.pcapng")
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	r, err := pcapfile.NewReader(src)
	if err != nil {
		tb.Fatal(err)
	}
	var pkts []mdns.Packet
	for {
		p, _, err := r.Next()
		if err != nil {
			break
		}
		pkts = append(pkts, p)
	}
	path := filepath.Join(tb.TempDir(), "big.pcapng")
	fh, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	w := pcapfile.NewWriter(fh)
	for i := 0; i < n; i++ {
		if err := w.Write(pkts[i%len(pkts)]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestCaptureReadLargeInOrder: a file of many batches comes out whole, in
// frame order, and --count stops exactly.
func TestCaptureReadLargeInOrder(t *testing.T) {
	const n = 5000
	path := bigCapture(t, n)
	for _, tt := range []struct {
		args []string
		want int
	}{{nil, n}, {[]string{"--count", "1234"}, 1234}} {
		code, out, errOut := run(t, "", append([]string{"capture", "--read", path, "--json"}, tt.args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != tt.want {
			t.Fatalf("%v: %d packets, want %d", tt.args, len(lines), tt.want)
		}
		for i, l := range lines {
			var p struct {
				Frame int `json:"frame"`
			}
			if err := json.Unmarshal([]byte(l), &p); err != nil || p.Frame != i+1 {
				t.Fatalf("line %d has frame %d (%v), want %d", i, p.Frame, err, i+1)
			}
		}
	}
}

// TestUnboundedFiles: a --value-file or --txt-file that never ends (or is
// huge) is refused after a bounded read, saying so.
func TestUnboundedFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "", "txt", "encode", "--value-file", "k=/dev/zero")
	if code != 2 || !strings.Contains(errOut, "--value-file 1: /dev/zero: more than 65536 bytes") {
		t.Errorf("txt encode --value-file k=/dev/zero: exit %d, %q", code, errOut)
	}
	code, _, errOut = run(t, "", "advertise", "X", "_p2p._tcp", "4001", "--txt-file", big)
	if code != 2 || !strings.Contains(errOut, "--txt-file: "+big+": more than 262144 bytes") {
		t.Errorf("advertise --txt-file of 1 MiB: exit %d, %q", code, errOut)
	}
}
