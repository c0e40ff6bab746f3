package mdns

import (
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Names in this module are kept in DNS presentation form, as Parse returns
// them: labels separated by dots, a trailing dot, and the bytes a label may
// hold that would be ambiguous (dot, space, backslash, quotes, bytes
// outside printable ASCII) escaped as \X or \DDD. These helpers are the one
// place that turns what a person types into that form, compares names and
// splits DNS-SD names into their parts.

// ParseName turns a name as a person types it ("Node 1._p2p._tcp",
// "host.local") into presentation form with a trailing dot, adding the
// domain "local." unless the name already ends in .local or .arpa. Dots
// separate labels; a backslash escapes the next character (or \DDD a byte)
// as in presentation form, so "a\.b" is one label.
func ParseName(s string) string {
	s = strings.TrimSuffix(s, ".")
	if k := NameKey(s); !strings.HasSuffix(k, ".local") && k != "local" && !strings.HasSuffix(k, ".arpa") {
		s += ".local"
	}
	return ParseFQDN(s)
}

// ParseFQDN is ParseName for a name in any domain: nothing is added but
// the trailing dot.
func ParseFQDN(s string) string {
	s = strings.TrimSuffix(s, ".")
	labels := splitTyped(s)
	for i, l := range labels {
		labels[i] = EscapeLabel(UnescapeLabel(l))
	}
	return strings.Join(labels, ".") + "."
}

// splitTyped splits typed text at the dots that are not escaped.
func splitTyped(s string) []string {
	var labels []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == '.':
			labels = append(labels, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(labels, cur.String())
}

// NameKey folds a presentation-form name for comparison and map keys.
// DNS names compare case-insensitively in ASCII only (RFC 4343); other
// bytes are escaped as \DDD in presentation form and compare exactly.
func NameKey(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// EqualNames reports whether two presentation-form names are the same name.
func EqualNames(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// InstanceName joins an instance label (unescaped: any bytes) and a
// service type ("_p2p._tcp", with or without its domain) into the
// instance's full name, RFC 6763 §4.1.
func InstanceName(instance, serviceType string) string {
	return EscapeLabel(instance) + "." + ParseName(serviceType)
}

// SplitInstance splits an instance's full name ("Node\ 1._p2p._tcp.local.")
// into its instance label (unescaped), service type ("_p2p._tcp") and
// domain ("local."). ok is false when the name has fewer than four labels.
func SplitInstance(name string) (instance, serviceType, domain string, ok bool) {
	labels := SplitName(name)
	if len(labels) < 4 {
		return "", "", "", false
	}
	return UnescapeLabel(labels[0]), labels[1] + "." + labels[2], strings.Join(labels[3:], ".") + ".", true
}

// ServiceType returns the service type of a browse name without its
// domain: "_p2p._tcp" for "_p2p._tcp.local." and for
// "_printer._sub._http._tcp.local.".
func ServiceType(name string) string {
	labels := SplitName(name)
	if len(labels) >= 3 {
		return labels[len(labels)-3] + "." + labels[len(labels)-2]
	}
	return strings.TrimSuffix(name, ".")
}

// SplitName splits a presentation-form name into its labels, still escaped.
func SplitName(name string) []string { return dns.SplitDomainName(name) }

// UnescapeLabel turns a presentation-format label back into its bytes:
// \DDD is a decimal byte, \X is X.
func UnescapeLabel(l string) string {
	if !strings.Contains(l, `\`) {
		return l
	}
	b := make([]byte, 0, len(l))
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '\\' || i+1 >= len(l) {
			b = append(b, c)
			continue
		}
		if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
			v := int(l[i+1]-'0')*100 + int(l[i+2]-'0')*10 + int(l[i+3]-'0')
			if v < 256 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, l[i+1])
		i++
	}
	return string(b)
}

// EscapeLabel is the inverse of UnescapeLabel, as miekg/dns presents names.
func EscapeLabel(l string) string {
	b := make([]byte, 0, len(l)+4)
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '.' || c == ' ' || c == '\'' || c == '@' || c == ';' || c == '(' || c == ')' || c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c > '~':
			b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ParseType reads an RR type name ("TXT", "aaaa", "TYPE65") or number.
func ParseType(s string) (uint16, bool) {
	u := strings.ToUpper(s)
	if t, ok := dns.StringToType[u]; ok {
		return t, true
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(u, "TYPE"), 10, 16); err == nil {
		return uint16(n), true
	}
	return 0, false
}
