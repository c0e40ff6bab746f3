package schema

import (
	_ "embed" // the IANA registry copy
	"fmt"
	"strings"

	"github.com/bonjourctl/bonjourctl/txt"
)

// CheckType judges a service type's name against RFC 6763 §7 and RFC
// 6335 §5.1: "_name._tcp" or "_name._udp" (a subtype "_sub._name._tcp" is
// judged on its main type), the name 1-15 characters of letters, digits
// and hyphens, beginning and ending with a letter or digit, at least one
// letter, no two hyphens in a row. Whether the name is in the IANA
// registry is not judged (the registry is not embedded).
func CheckType(t string) []Finding {
	var out []Finding
	bad := func(format string, args ...any) {
		out = append(out, Finding{Code: CodeTypeName, Severity: txt.Error, Index: -1, Section: "RFC 6763 §7, RFC 6335 §5.1", Message: fmt.Sprintf(format, args...)})
	}
	labels := strings.Split(strings.TrimSuffix(t, "."), ".")
	at := -1
	for i, l := range labels {
		if strings.EqualFold(l, "_tcp") || strings.EqualFold(l, "_udp") {
			at = i
			break
		}
	}
	if at < 1 {
		bad("%q has no _tcp or _udp label after the service name (like _p2p._tcp)", t)
		return out
	}
	if at != 1 && !(at == 3 && strings.EqualFold(labels[1], "_sub")) {
		bad("%q: only a subtype (_name._sub._service._tcp) may come before the service name", t)
	}
	name := labels[at-1]
	if !strings.HasPrefix(name, "_") {
		bad("service name %q must begin with an underscore", name)
		return out
	}
	n := name[1:]
	switch {
	case len(n) == 0:
		bad("the service name is empty")
		return out
	case len(n) > 15:
		bad("service name %q is %d characters; at most 15 (RFC 6335 §5.1)", n, len(n))
	}
	letter := false
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(n)-1 {
				bad("service name %q begins or ends with a hyphen", n)
			} else if n[i+1] == '-' {
				bad("service name %q has two hyphens in a row", n)
			}
		default:
			bad("service name %q has %q: only letters, digits and hyphens are allowed", n, string(c))
			return out
		}
	}
	if !letter {
		bad("service name %q has no letter", n)
	}
	return out
}

// ianaNames is the embedded copy of the IANA service-name registry: one
// lower-case name a line, after a comment that says where and when from.
//
//go:embed iana-service-names.txt
var ianaNames string

// IANACopy says which copy of the registry Registered consults.
const IANACopy = "the IANA service-name registry as of 2024-06-11"

// Registered reports whether a service type's name ("_ipp._tcp" -> ipp)
// is in the embedded copy of the IANA registry.
func Registered(t string) bool {
	name := strings.ToLower(strings.TrimPrefix(typeKey(t), "_"))
	name, _, _ = strings.Cut(name, ".")
	return name != "" && strings.Contains(ianaNames, "\n"+name+"\n")
}

// CheckTypeRegistered is CheckType, plus an informational finding when
// the name is well formed but not in the IANA registry (RFC 6335 §8 asks
// that names be registered; an unregistered one may clash with another
// product's).
func CheckTypeRegistered(t string) []Finding {
	fs := CheckType(t)
	if len(fs) == 0 && !Registered(t) {
		fs = append(fs, Finding{Code: CodeUnregistered, Severity: txt.Info, Index: -1, Section: "RFC 6335 §8",
			Message: fmt.Sprintf("%s is not in %s: register it, or expect another product to use the same name", typeKey(t), IANACopy)})
	}
	return fs
}
