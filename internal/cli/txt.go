package cli

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/consumers"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

func newCmdTXT(f *Factory, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "txt",
		Short: "Encode, decode and lint DNS-SD TXT records (RFC 6763 §6)",
		Long: `Work with TXT records offline: turn key/value pairs into the exact wire bytes,
turn bytes (or what dns-sd, avahi-browse or dig print) back into strings and
attributes, and lint either against RFC 6763.`,
	}
	cmd.AddCommand(newCmdTXTEncode(f, g), newCmdTXTDecode(f, g), newCmdTXTLint(f, g), newCmdTXTSchemas(f, g))
	return cmd
}

type txtEncodeOptions struct {
	IO        *iostreams.IOStreams
	Global    *globalOptions
	Pairs     []string
	Format    string
	ValueFile []string
	Force     bool
}

func newCmdTXTEncode(f *Factory, g *globalOptions) *cobra.Command {
	opts := &txtEncodeOptions{IO: f.IOStreams, Global: g}
	cmd := &cobra.Command{
		Use:   "encode PAIR...",
		Short: "Print the wire bytes of a TXT record built from key/value pairs",
		Long: `Encode builds a TXT record from the pairs an app would pass to its API, in order:
  key=value     a value (any bytes after the first '=')
  flag          a boolean attribute (no '=')
  empty=        an empty value
  key:hex=0a0b  a binary value given as hex
With no pairs, it encodes the legal empty record (the single byte 00).

The record is linted first; errors refuse to encode unless --force (to make
deliberately broken records for testing clients).`,
		Example: `  bonjourctl txt encode key=value flag empty=
  bonjourctl txt encode --format swift txtvers=1 path=/api
  bonjourctl txt encode --value-file cert=cert.der`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Pairs = args
			switch opts.Format {
			case "hex", "base64", "c", "go", "swift":
			default:
				return flagErrorf("--format must be hex, base64, c, go or swift, not %q", opts.Format)
			}
			return txtEncodeRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "hex", "Output `format`: hex, base64, c, go or swift")
	cmd.Flags().StringArrayVar(&opts.ValueFile, "value-file", nil, "Append key=`KEY=FILE`: the value is the file's bytes (repeatable)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "Encode even when the record has lint errors")
	return cmd
}

func txtEncodeRun(o *txtEncodeOptions) error {
	rec, err := txt.FromPairs(o.Pairs)
	if err != nil {
		var ie *txt.InputError
		if errors.As(err, &ie) {
			return flagErrorf("pair %d (%q), position %d: %s", ie.Arg+1, short(o.Pairs[ie.Arg]), ie.Pos, ie.Reason)
		}
		return &FlagError{err}
	}
	for i, vf := range o.ValueFile {
		key, file, ok := strings.Cut(vf, "=")
		if !ok || key == "" {
			return flagErrorf("--value-file %d (%q): want KEY=FILE", i+1, vf)
		}
		// A TXT string holds at most 255 bytes: 64 KiB is enough to say
		// how far over a file is, without reading /dev/zero for ever.
		b, err := readFileAtMost(file, 64<<10)
		if err != nil {
			return flagErrorf("--value-file %d: %v", i+1, err)
		}
		s := append([]byte(key+"="), b...)
		if len(s) > txt.MaxString {
			return flagErrorf("--value-file %d: %s=<%d bytes> is %d bytes as a TXT string; the limit is 255", i+1, key, len(b), len(s))
		}
		rec.Strings = append(rec.Strings, s)
	}
	if len(rec.Strings) == 0 {
		rec = txt.Empty()
	}
	wire, err := txt.Encode(rec)
	if err != nil {
		return &FlagError{err}
	}
	findings := txt.Lint(wire)
	printFindings(o.IO.ErrOut, findings, txt.Warning)
	if sev, ok := txt.MaxSeverity(findings); ok && sev == txt.Error && !o.Force {
		return errors.New("the record has lint errors (above); fix them, or pass --force to encode it anyway")
	}
	var out string
	switch o.Format {
	case "hex":
		out = hex.EncodeToString(wire) + "\n"
	case "base64":
		out = base64.StdEncoding.EncodeToString(wire) + "\n"
	case "c":
		out = txt.CLiteral(wire)
	case "go":
		out = txt.GoLiteral(wire)
	case "swift":
		out = txt.SwiftLiteral(wire)
	}
	_, err = io.WriteString(o.IO.Out, out)
	return err
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

type txtDecodeOptions struct {
	IO      *iostreams.IOStreams
	Global  *globalOptions
	Input   string
	From    string
	Base64  string
	Strict  bool
	Schema  schemaFlags
	Clients bool
}

func newCmdTXTDecode(f *Factory, g *globalOptions) *cobra.Command {
	opts := &txtDecodeOptions{IO: f.IOStreams, Global: g}
	cmd := &cobra.Command{
		Use:   "decode [TEXT | -]",
		Short: "Show the strings, attributes and lint findings of a TXT record",
		Long: `Decode reads a TXT record and prints a table: index, length, key, value as text
where printable and as hex always, then the lint findings.

Input is the RDATA as hex (spaces and colons allowed), --base64, or what
tools print, detected automatically and named in the output:
  quoted   "key=value" "flag" (dig, miekg/dns; \DDD escapes)
  dns-sd   key=value flag (dns-sd -L; backslash escapes)
  avahi    avahi-browse -p's TXT field, which lists strings in reverse order
           (use --from avahi: it looks like quoted)`,
		Example: `  bonjourctl txt decode 096b65793d76616c7565
  bonjourctl txt decode --from avahi '"b=2" "a=1"'
  bonjourctl txt decode --base64 CWtleT12YWx1ZQ== --json`,
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := readTXTInput(opts.IO, args, opts.Base64, &opts.Input, &opts.From); err != nil {
				return err
			}
			return txtDecodeRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "auto", "Input `format`: auto, hex, base64, quoted (dig), avahi or dns-sd")
	cmd.Flags().StringVar(&opts.Base64, "base64", "", "Read the RDATA from this base64 `text`")
	opts.Schema.add(cmd.Flags(), true)
	cmd.Flags().BoolVar(&opts.Clients, "clients", false, "Also say what client libraries make of the record (python-zeroconf's properties dict, grandcat/zeroconf's Text)")
	return cmd
}

func readTXTInput(ios *iostreams.IOStreams, args []string, b64 string, input, from *string) error {
	switch {
	case b64 != "" && len(args) > 0:
		return flagErrorf("give either --base64 or an argument, not both")
	case b64 != "":
		*input, *from = b64, string(txt.FormatBase64)
	case len(args) == 1 && args[0] != "-":
		*input = args[0]
	default:
		// A TXT record's RDATA is at most 65535 bytes: 1 MiB of text
		// holds it in any of the input formats.
		b, err := readAtMost(ios.In, 1<<20)
		if err != nil {
			return flagErrorf("standard input: %v; a TXT record's RDATA is at most 65535 bytes", err)
		}
		*input = string(b)
	}
	if *from == "dig" {
		*from = string(txt.FormatQuoted) // dig prints TXT data quoted, as miekg/dns does
	}
	switch txt.Format(*from) {
	case txt.FormatAuto, txt.FormatHex, txt.FormatBase64, txt.FormatQuoted, txt.FormatAvahi, txt.FormatDNSSD:
	default:
		return flagErrorf("--from must be auto, hex, base64, quoted (or dig), avahi or dns-sd, not %q", *from)
	}
	return nil
}

// txtReport is the JSON output of txt decode and txt lint.
type txtReport struct {
	Format     string        `json:"format"`
	RDataHex   string        `json:"rdata"`
	Length     int           `json:"length"`
	ZeroLength bool          `json:"zeroLength"`
	Empty      bool          `json:"empty"`
	Strings    []txtStrJSON  `json:"strings"`
	Findings   []txt.Finding `json:"findings"`
	// Schema is what the service type's schema says (--type).
	Schema *schemaJSON `json:"schema,omitempty"`
	// Clients is what client libraries make of the record (--clients).
	Clients []consumers.Verdict `json:"clients,omitempty"`
}

type txtStrJSON struct {
	Index  int    `json:"index"`
	Length int    `json:"length"`
	Kind   string `json:"kind"`
	Key    string `json:"key,omitempty"`
	Value  string `json:"value,omitempty"` // escaped text
	Hex    string `json:"hex"`             // the whole string
	UTF8   bool   `json:"utf8"`
	UsedBy int    `json:"usedIndex"` // the string clients use for this key
}

// parseTXTInput turns user text into RDATA. A syntax error in the record
// itself (an overrunning length byte) is not an input error: the bytes are
// returned and Lint reports it.
func parseTXTInput(input, from string) ([]byte, txt.Format, error) {
	rec, format, err := txt.ParseText(input, txt.Format(from))
	var se *txt.SyntaxError
	if errors.As(err, &se) && (format == txt.FormatHex || format == txt.FormatBase64) {
		var raw []byte
		if format == txt.FormatHex {
			raw, _ = txt.DecodeHex(input)
		} else {
			raw, _ = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(input), ""))
		}
		return raw, format, nil
	}
	if err != nil {
		var ie *txt.InputError
		if errors.As(err, &ie) {
			return nil, format, flagErrorf("%s input, character %d: %s", format, ie.Pos, ie.Reason)
		}
		return nil, format, &FlagError{err}
	}
	wire, err := txt.Encode(rec)
	if err != nil {
		return nil, format, &FlagError{err}
	}
	return wire, format, nil
}

func buildTXTReport(rdata []byte, format txt.Format) txtReport {
	rec, _ := txt.Parse(rdata)
	rep := txtReport{
		Format: string(format), RDataHex: hex.EncodeToString(rdata), Length: len(rdata),
		ZeroLength: len(rdata) == 0, Empty: rec.IsEmpty(),
		Strings: []txtStrJSON{}, Findings: txt.Lint(rdata),
	}
	if rep.Findings == nil {
		rep.Findings = []txt.Finding{}
	}
	for _, a := range txt.Attributes(rec) {
		s := rec.Strings[a.Index]
		j := txtStrJSON{Index: a.Index, Length: len(s), Kind: a.Kind.String(), Key: txt.Escape(a.Key), Hex: hex.EncodeToString(s), UTF8: utf8.Valid(a.Value), UsedBy: a.FirstIndex}
		if a.Kind == txt.Value || a.Kind == txt.Ignored {
			j.Value = txt.EscapeUTF8(a.Value)
		}
		rep.Strings = append(rep.Strings, j)
	}
	return rep
}

func writeTXTReport(ios *iostreams.IOStreams, rep txtReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(ios.Out, "input: %s; %d bytes of RDATA: %s\n", rep.Format, rep.Length, orNone(rep.RDataHex))
	switch {
	case rep.ZeroLength:
		fmt.Fprintln(ios.Out, "zero-length RDATA: no strings at all (illegal; the legal empty TXT record is the byte 00)")
	case rep.Empty:
		fmt.Fprintln(ios.Out, "the legal empty TXT record: one zero-length string")
	}
	if len(rep.Strings) > 0 {
		tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tLEN\tKIND\tKEY\tVALUE\tHEX")
		for _, s := range rep.Strings {
			val := s.Value
			if s.Kind == "value" && !s.UTF8 {
				val = "(binary)"
			}
			note := ""
			if s.UsedBy != s.Index {
				note = fmt.Sprintf("  (ignored: clients use #%d)", s.UsedBy)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s%s\n", s.Index, s.Length, s.Kind, orDash(s.Key), orDash(val), orDash(s.Hex), note)
		}
		tw.Flush()
	}
	if len(rep.Findings) == 0 {
		fmt.Fprintln(ios.Out, "lint: no findings")
	}
	printFindings(ios.Out, rep.Findings, txt.Info)
	rep.Schema.write(ios.Out)
	for _, v := range rep.Clients {
		fmt.Fprintf(ios.Out, "%s: %s\n", v.Client, v.Sees)
		for _, n := range v.Notes {
			fmt.Fprintf(ios.Out, "  %s\n", n)
		}
		fmt.Fprintf(ios.Out, "  (source: %s)\n", v.Source)
	}
	return nil
}

func printFindings(w io.Writer, fs []txt.Finding, min txt.Severity) {
	for _, f := range fs {
		if f.Severity >= min {
			fmt.Fprintf(w, "%s\n", f)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func txtDecodeRun(o *txtDecodeOptions) error {
	rdata, format, err := parseTXTInput(o.Input, o.From)
	if err != nil {
		return err
	}
	rep, err := o.report(rdata, format)
	if err != nil {
		return err
	}
	return writeTXTReport(o.IO, rep, o.Global.JSON)
}

// report builds the TXT report with the schema's verdict when --type is
// given.
func (o *txtDecodeOptions) report(rdata []byte, format txt.Format) (txtReport, error) {
	rep := buildTXTReport(rdata, format)
	if o.Clients {
		rep.Clients = consumers.All(rdata)
	}
	if o.Schema.Type == "" {
		if o.Schema.File != "" || o.Schema.Instance != "" {
			return rep, flagErrorf("--schema and --instance need --type TYPE (the service type whose schema applies)")
		}
		return rep, nil
	}
	set, err := o.Schema.set()
	if err != nil {
		return rep, err
	}
	rep.Schema = judgeTXT(set, o.Schema.Type, o.Schema.Instance, rdata)
	if reg := schema.CheckTypeRegistered(o.Schema.Type); len(reg) > 0 && (rep.Schema == nil || len(rep.Schema.TypeFindings) == 0) {
		if rep.Schema == nil {
			rep.Schema = &schemaJSON{}
		}
		rep.Schema.TypeFindings = reg
	}
	if rep.Schema == nil || rep.Schema.Report == nil {
		fmt.Fprintf(o.IO.ErrOut, "no schema for %s (bonjourctl txt schemas lists them; --schema FILE adds yours): judged by RFC 6763 only\n", o.Schema.Type)
	}
	if sc, n := set.Mistaken(o.Schema.Type); sc != nil {
		fmt.Fprintf(o.IO.ErrOut, "note: %s\n", n.Meaning)
	}
	return rep, nil
}

type txtLintOptions struct {
	txtDecodeOptions
	Pairs bool
}

func newCmdTXTLint(f *Factory, g *globalOptions) *cobra.Command {
	opts := &txtLintOptions{txtDecodeOptions: txtDecodeOptions{IO: f.IOStreams, Global: g}}
	cmd := &cobra.Command{
		Use:   "lint [PAIR... | TEXT | -]",
		Short: "Lint a TXT record; exit 1 on errors (and on warnings with --strict)",
		Long: `Lint checks a TXT record against RFC 6763 §6 and exits 0 when clean, 1 when it
has errors, and with --strict also 1 when it has warnings, so it can guard a
developer's CI. Give the record as bytes (like txt decode) or, with --pairs,
as the key/value pairs an app passes to its API (like txt encode).`,
		Example: `  bonjourctl txt lint 096b65793d76616c7565
  bonjourctl txt lint --pairs --strict txtvers=1 key=value`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var rdata []byte
			format := txt.Format("pairs")
			if opts.Pairs {
				rec, err := txt.FromPairs(args)
				if err != nil {
					var ie *txt.InputError
					if errors.As(err, &ie) {
						return flagErrorf("pair %d (%q), position %d: %s", ie.Arg+1, short(args[ie.Arg]), ie.Pos, ie.Reason)
					}
					return &FlagError{err}
				}
				if len(rec.Strings) == 0 {
					rec = txt.Empty()
				}
				if rdata, err = txt.Encode(rec); err != nil {
					return &FlagError{err}
				}
			} else {
				if len(args) > 1 {
					return flagErrorf("give the record as one argument (quote it), or use --pairs for key/value pairs")
				}
				if err := readTXTInput(opts.IO, args, opts.Base64, &opts.Input, &opts.From); err != nil {
					return err
				}
				var err error
				if rdata, format, err = parseTXTInput(opts.Input, opts.From); err != nil {
					return err
				}
			}
			rep, err := opts.report(rdata, format)
			if err != nil {
				return err
			}
			if err := writeTXTReport(opts.IO, rep, opts.Global.JSON); err != nil {
				return err
			}
			for _, worst := range []func() (txt.Severity, bool){func() (txt.Severity, bool) { return txt.MaxSeverity(rep.Findings) }, rep.Schema.worst} {
				if sev, ok := worst(); ok && (sev == txt.Error || sev == txt.Warning && opts.Strict) {
					return errSilent
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Pairs, "pairs", false, "Arguments are key/value pairs, as for txt encode")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "Exit 1 on warnings too")
	cmd.Flags().StringVar(&opts.From, "from", "auto", "Input `format`: auto, hex, base64, quoted (dig), avahi or dns-sd")
	cmd.Flags().StringVar(&opts.Base64, "base64", "", "Read the RDATA from this base64 `text`")
	opts.Schema.add(cmd.Flags(), true)
	cmd.Flags().BoolVar(&opts.Clients, "clients", false, "Also say what client libraries make of the record (python-zeroconf's properties dict, grandcat/zeroconf's Text)")
	return cmd
}
