package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

// schemaFlags choose the TXT schema a record is judged by: the built-in
// one for --type, or the user's --schema file.
type schemaFlags struct {
	Type     string
	File     string
	Instance string
}

func (s *schemaFlags) add(fl *pflag.FlagSet, withType bool) {
	if withType {
		fl.StringVar(&s.Type, "type", "", "Judge the record by the TXT schema of this service `type` too (e.g. _matterc._udp; see bonjourctl txt schemas)")
		fl.StringVar(&s.Instance, "instance", "", "With --type: the instance `name`, judged too where the schema says what it must be")
	}
	fl.StringVar(&s.File, "schema", "", "Add a TXT schema `file` of your own (JSON, the built-in schemas' format)")
}

// set loads the built-in schemas and the user's file.
func (s *schemaFlags) set() (*schema.Set, error) {
	set := schema.Builtin()
	if s.File == "" {
		return set, nil
	}
	f, err := os.Open(s.File)
	if err != nil {
		return nil, flagErrorf("--schema: %v", err)
	}
	defer f.Close()
	if err := set.Add(io.LimitReader(f, 1<<20), s.File); err != nil {
		return nil, flagErrorf("--schema: %v", err)
	}
	return set, nil
}

// schemaJSON is what a schema says of one TXT record, in every JSON output.
type schemaJSON struct {
	*schema.Report
	TypeFindings []schema.Finding `json:"typeFindings,omitempty"`
}

// judgeTXT checks a record against its type's schema (nil when the type
// has none and its name is fine).
func judgeTXT(set *schema.Set, serviceType, instance string, rdata []byte) *schemaJSON {
	if set == nil || serviceType == "" {
		return nil
	}
	j := &schemaJSON{TypeFindings: schema.CheckType(serviceType)}
	if sc := set.For(serviceType); sc != nil {
		rec, _ := txt.Parse(rdata)
		rep := sc.Check(rec, len(rdata), instance)
		j.Report = &rep
	}
	if j.Report == nil && len(j.TypeFindings) == 0 {
		return nil
	}
	return j
}

// worst is the highest severity among a schema verdict's findings.
func (j *schemaJSON) worst() (txt.Severity, bool) {
	if j == nil {
		return 0, false
	}
	var fs []schema.Finding
	fs = append(fs, j.TypeFindings...)
	if j.Report != nil {
		fs = append(fs, j.Report.Findings...)
	}
	ok := false
	var max txt.Severity
	for _, f := range fs {
		if !ok || f.Severity > max {
			max, ok = f.Severity, true
		}
	}
	return max, ok
}

// counts says "2 errors, 1 warning" for a schema verdict ("" when clean).
func (j *schemaJSON) counts() string {
	if j == nil {
		return ""
	}
	errs, warns := 0, 0
	fs := append([]schema.Finding{}, j.TypeFindings...)
	if j.Report != nil {
		fs = append(fs, j.Report.Findings...)
	}
	for _, f := range fs {
		switch f.Severity {
		case txt.Error:
			errs++
		case txt.Warning:
			warns++
		}
	}
	if errs+warns == 0 {
		return ""
	}
	return fmt.Sprintf("%d error%s, %d warning%s", errs, plural(errs), warns, plural(warns))
}

// write prints a schema verdict as text.
func (j *schemaJSON) write(w io.Writer) {
	if j == nil {
		return
	}
	for _, f := range j.TypeFindings {
		fmt.Fprintln(w, f)
	}
	if j.Report == nil {
		return
	}
	fmt.Fprintf(w, "schema: %s (%s)\n", j.Schema, j.Source)
	for _, e := range j.Explained {
		meaning := e.Meaning
		if meaning == "" {
			meaning = "(not in the schema)"
		}
		if e.Value != "" {
			meaning += " = " + e.Value
		}
		fmt.Fprintf(w, "  #%d %-8s %s\n", e.Index, e.Key, meaning)
	}
	if len(j.Findings) == 0 {
		fmt.Fprintln(w, "schema: no findings")
	}
	for _, f := range j.Findings {
		fmt.Fprintln(w, f)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func newCmdTXTSchemas(f *Factory, g *globalOptions) *cobra.Command {
	var sf schemaFlags
	cmd := &cobra.Command{
		Use:   "schemas [TYPE]",
		Short: "List the service types whose TXT keys bonjourctl knows, or one type's keys",
		Long: `Schemas lists the TXT schemas built in (and --schema FILE's): each service type
with the specification it comes from. Given a TYPE, it lists that schema's keys:
format, whether required, and what each means. txt decode and txt lint judge a
record by one with --type TYPE; browse, resolve and the TUI apply them to what
they find.`,
		Example: `  bonjourctl txt schemas
  bonjourctl txt schemas _matterc._udp
  bonjourctl txt lint --type _hap._tcp --pairs c#=1 id=3C:33:1B:21:B3:00 md=Bridge s#=1 sf=1 ci=2`,
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := sf.set()
			if err != nil {
				return err
			}
			out := f.IOStreams.Out
			if len(args) == 0 {
				for _, sc := range set.All() {
					fmt.Fprintf(out, "%-34s %s (%d keys)\n    %s\n", strings.Join(sc.Types, " "), sc.Name, len(sc.Keys), sc.Source)
				}
				return nil
			}
			sc := set.For(args[0])
			if sc == nil {
				return fmt.Errorf("no schema for %s (bonjourctl txt schemas lists them)", args[0])
			}
			fmt.Fprintf(out, "%s: %s\nsource: %s\n", strings.Join(sc.Types, " "), sc.Name, sc.Source)
			if sc.Instance != nil {
				fmt.Fprintf(out, "instance name: %s\n", sc.Instance.Meaning)
			}
			for _, st := range sc.Subtypes {
				fmt.Fprintf(out, "subtype %s: %s\n", st.Name, st.Meaning)
			}
			for _, k := range sc.Keys {
				req := "optional"
				switch k.Required {
				case "error":
					req = "required"
				case "warning":
					req = "expected"
				}
				fmt.Fprintf(out, "  %-10s %-13s %-8s %s\n", k.Key, k.Format, req, k.Meaning)
			}
			for _, n := range sc.Notes {
				fmt.Fprintf(out, "note: %s\n", n)
			}
			return nil
		},
	}
	sf.add(cmd.Flags(), false)
	return cmd
}
