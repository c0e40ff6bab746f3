package widearea

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/miekg/dns"
)

// TSIG is a shared-secret key that signs DNS UPDATE messages (RFC 8945).
type TSIG struct {
	Name      string // key name, a domain name: "bonjourctl-key."
	Algorithm string // miekg/dns name: dns.HmacSHA256 ("hmac-sha256.")
	Secret    string // base64
	// Now is the signing clock (default time.Now); tests skew it.
	Now func() time.Time
}

// Fudge is the time error the signature allows, in seconds (RFC 8945 §10
// recommends 300).
const Fudge = 300

var algorithms = map[string]string{
	"hmac-md5": dns.HmacMD5, "hmac-md5.sig-alg.reg.int": dns.HmacMD5,
	"hmac-sha1": dns.HmacSHA1, "hmac-sha224": dns.HmacSHA224, "hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384, "hmac-sha512": dns.HmacSHA512,
}

func algorithmNames() string {
	return "hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5"
}

// NewTSIG checks a key's parts.
func NewTSIG(name, algorithm, secret string) (*TSIG, error) {
	alg, ok := algorithms[strings.TrimSuffix(strings.ToLower(algorithm), ".")]
	if !ok {
		return nil, fmt.Errorf("TSIG algorithm %q is not one of %s", algorithm, algorithmNames())
	}
	if name == "" {
		return nil, fmt.Errorf("TSIG key name is empty")
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("TSIG key name %q is not a domain name", name)
	}
	raw, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return nil, fmt.Errorf("TSIG secret of key %s is not base64: %v", name, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("TSIG secret of key %s is empty", name)
	}
	return &TSIG{Name: dns.CanonicalName(name), Algorithm: alg, Secret: secret}, nil
}

// ParseTSIG reads NAME:ALGORITHM:SECRET (the form of --tsig).
func ParseTSIG(s string) (*TSIG, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("--tsig %q: want NAME:ALGORITHM:SECRET, e.g. bonjourctl-key:hmac-sha256:c2VjcmV0", s)
	}
	return NewTSIG(parts[0], parts[1], parts[2])
}

// ParseKeyFile reads a key in BIND's key-file format, as tsig-keygen and
// ddns-confgen write it:
//
//	key "NAME" {
//		algorithm hmac-sha256;
//		secret "BASE64";
//	};
//
// The grammar is three statements, so it is read here rather than by a
// configuration parser. Errors say the line.
func ParseKeyFile(r io.Reader, file string) (*TSIG, error) {
	toks, err := keyTokens(r, file)
	if err != nil {
		return nil, err
	}
	var name, alg, secret string
	want := func(i int, s string) error {
		if i >= len(toks) {
			return fmt.Errorf("%s: ends early: want %q", file, s)
		}
		if toks[i].text != s {
			return fmt.Errorf("%s:%d: want %q, got %q", file, toks[i].line, s, toks[i].text)
		}
		return nil
	}
	i := 0
	if err := want(i, "key"); err != nil {
		return nil, err
	}
	if i+1 >= len(toks) {
		return nil, fmt.Errorf("%s: ends early: want the key's name", file)
	}
	name = toks[i+1].text
	i += 2
	if err := want(i, "{"); err != nil {
		return nil, err
	}
	for i++; i < len(toks) && toks[i].text != "}"; {
		if i+2 >= len(toks) {
			return nil, fmt.Errorf("%s: ends early inside key %q", file, name)
		}
		k, v := toks[i], toks[i+1]
		switch k.text {
		case "algorithm":
			alg = v.text
		case "secret":
			secret = v.text
		default:
			return nil, fmt.Errorf("%s:%d: unknown statement %q in key %q (want algorithm or secret)", file, k.line, k.text, name)
		}
		if err := want(i+2, ";"); err != nil {
			return nil, err
		}
		i += 3
	}
	if err := want(i, "}"); err != nil {
		return nil, err
	}
	if alg == "" || secret == "" {
		return nil, fmt.Errorf("%s: key %q needs both algorithm and secret", file, name)
	}
	return NewTSIG(name, alg, secret)
}

type token struct {
	text string
	line int
}

// keyTokens splits a key file: words, quoted strings, { } ;, with #, //
// and /* */ comments skipped.
func keyTokens(r io.Reader, file string) ([]token, error) {
	var toks []token
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	inComment := false
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		for i := 0; i < len(s); {
			c := s[i]
			switch {
			case inComment:
				if j := strings.Index(s[i:], "*/"); j >= 0 {
					inComment, i = false, i+j+2
				} else {
					i = len(s)
				}
			case c == '#' || strings.HasPrefix(s[i:], "//"):
				i = len(s)
			case strings.HasPrefix(s[i:], "/*"):
				inComment, i = true, i+2
			case unicode.IsSpace(rune(c)):
				i++
			case c == '{' || c == '}' || c == ';':
				toks = append(toks, token{string(c), line})
				i++
			case c == '"':
				j := strings.IndexByte(s[i+1:], '"')
				if j < 0 {
					return nil, fmt.Errorf("%s:%d: unterminated string", file, line)
				}
				toks = append(toks, token{s[i+1 : i+1+j], line})
				i += j + 2
			default:
				j := i
				for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("{};\"", rune(s[j])) {
					j++
				}
				toks = append(toks, token{s[i:j], line})
				i = j
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return toks, nil
}

func (k *TSIG) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// sign (re)places m's TSIG record, to be filled when it is packed.
func (k *TSIG) sign(m *dns.Msg) {
	extra := m.Extra[:0]
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeTSIG {
			extra = append(extra, rr)
		}
	}
	m.Extra = extra
	m.SetTsig(k.Name, k.Algorithm, Fudge, k.now().Unix())
}

// SignatureError is a TSIG failure: the server's (BADKEY, BADSIG,
// BADTIME) or a reply that does not verify.
type SignatureError struct {
	Key        string
	Code       uint16 // TSIG error (RFC 8945 §5.2): dns.RcodeBadSig...; 0 when the reply failed here
	Signed     time.Time
	ServerTime time.Time // BADTIME: the server's clock
	Reason     string    // when the reply failed here
}

func (e *SignatureError) Error() string {
	key := trimDot(e.Key)
	switch e.Code {
	case dns.RcodeBadKey:
		return fmt.Sprintf("the server does not know TSIG key %s with that algorithm (BADKEY, RFC 8945 §5.2.1): check the key name and algorithm against the server's", key)
	case dns.RcodeBadSig:
		return fmt.Sprintf("the server rejected the signature of TSIG key %s (BADSIG, RFC 8945 §5.2.2): the secret differs from the server's", key)
	case dns.RcodeBadTime:
		s := fmt.Sprintf("the server rejected the time of the signature (BADTIME, RFC 8945 §5.2.3): signed at %s", e.Signed.UTC().Format(time.RFC3339))
		if !e.ServerTime.IsZero() {
			s += fmt.Sprintf(", the server's clock says %s (%v apart, more than the fudge of %d s)", e.ServerTime.UTC().Format(time.RFC3339), e.ServerTime.Sub(e.Signed).Abs().Round(time.Second), Fudge)
		}
		return s + ": check both clocks"
	case 0:
		return fmt.Sprintf("the reply's TSIG signature (key %s) does not verify: %s", key, e.Reason)
	}
	return fmt.Sprintf("the server rejected TSIG key %s: TSIG error %d", key, e.Code)
}

// verify checks a signed request's reply: the server's TSIG error first
// (BADSIG and BADKEY replies are unsigned), then the reply's own MAC.
func (k *TSIG) verify(raw []byte, resp *dns.Msg, requestMAC string) error {
	t := resp.IsTsig()
	if t == nil {
		if resp.Rcode != dns.RcodeSuccess {
			return nil // an unsigned error reply: its rcode says what went wrong
		}
		return &SignatureError{Key: k.Name, Reason: "the reply is not signed"}
	}
	if t.Error != dns.RcodeSuccess {
		e := &SignatureError{Key: k.Name, Code: t.Error, Signed: time.Unix(int64(t.TimeSigned), 0)}
		if b, err := hex.DecodeString(t.OtherData); err == nil && t.Error == dns.RcodeBadTime && len(b) == 6 {
			var secs int64
			for _, c := range b {
				secs = secs<<8 | int64(c)
			}
			e.ServerTime = time.Unix(secs, 0)
		}
		return e
	}
	if err := dns.TsigVerify(raw, k.Secret, requestMAC, false); err != nil {
		return &SignatureError{Key: k.Name, Reason: err.Error()}
	}
	return nil
}
