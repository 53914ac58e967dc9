package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// User facts come from TSV files so anyone can test memorisation on their own knowledge without writing
// Go. One fact per line:
//
//	subject<TAB>relation<TAB>answer[<TAB>question template]
//
// Blank lines and lines starting with '#' are ignored, as is a first line "subject<TAB>relation<TAB>answer"
// (a header). The question template must contain "{subject}" and may contain "{relation}"; without one,
// DefaultQuestion is used. CRLF line ends and a UTF-8 byte order mark are accepted; spaces around fields
// are trimmed. A line repeating an earlier fact is skipped. Several lines with the same subject and
// relation but different answers give that question several accepted answers (aliases, homonyms), as
// real fact lists do; FactsDataset groups them.

// TSVOptions change how bad lines are treated.
type TSVOptions struct {
	// Lenient skips bad lines (wrong number of fields, an empty field, a template without {subject},
	// invalid UTF-8) and reports them in TSVReport.Skipped, instead of stopping at the first one.
	Lenient bool
}

// TSVReport says what reading a facts file did besides returning the facts.
type TSVReport struct {
	Duplicates int          // lines repeating an earlier fact, skipped
	Skipped    []TSVProblem // bad lines skipped in lenient mode, in file order
}

// TSVProblem is one bad line: Kind groups problems in summaries, Message is the strict mode's error.
type TSVProblem struct {
	Line    int
	Kind    string
	Message string
}

// LoadFactsTSV reads facts from the TSV file at path (format above), stopping at the first bad line;
// errors name path and line.
func LoadFactsTSV(path string) ([]Fact, error) {
	facts, _, err := LoadFactsTSVWith(path, TSVOptions{})
	return facts, err
}

// LoadFactsTSVWith reads the TSV file at path with opts (see ReadFactsTSV).
func LoadFactsTSVWith(path string, opts TSVOptions) ([]Fact, TSVReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, TSVReport{}, err
	}
	defer f.Close()
	return ReadFactsTSV(f, path, opts)
}

// ParseFactsTSV reads facts in the TSV format above from r, stopping at the first bad line; name (usually
// the file name) prefixes errors, which are one line of the form "name:line: problem; fix".
func ParseFactsTSV(r io.Reader, name string) ([]Fact, error) {
	facts, _, err := ReadFactsTSV(r, name, TSVOptions{})
	return facts, err
}

// tsvFields names the columns, for messages.
var tsvFields = []string{"subject", "relation", "answer", "question"}

// ReadFactsTSV reads facts in the TSV format above from r. A bad line is an error naming name and the
// line, unless opts.Lenient, which skips it and lists it in the report. A file without any fact is
// always an error.
func ReadFactsTSV(r io.Reader, name string, opts TSVOptions) ([]Fact, TSVReport, error) {
	br := bufio.NewReader(r)
	var facts []Fact
	var report TSVReport
	seen := map[[3]string]bool{} // subject, relation, answer
	sawData := false             // a header is only recognised before the first fact
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, report, fmt.Errorf("%s:%d: reading: %v", name, lineNo, err)
		}
		if line == "" && err != nil {
			break
		}
		fact, kind, problem := parseTSVLine(line, lineNo == 1, &sawData)
		switch {
		case problem != "":
			msg := fmt.Sprintf("%s:%d: %s", name, lineNo, problem)
			if !opts.Lenient {
				return nil, report, errors.New(msg)
			}
			report.Skipped = append(report.Skipped, TSVProblem{Line: lineNo, Kind: kind, Message: msg})
		case fact == nil: // blank, comment or header
		case seen[[3]string{fact.Subject, fact.Relation, fact.Answer}]:
			report.Duplicates++
		default:
			seen[[3]string{fact.Subject, fact.Relation, fact.Answer}] = true
			facts = append(facts, *fact)
		}
	}
	if len(facts) == 0 {
		hint := "add lines of the form subject<TAB>relation<TAB>answer"
		if len(report.Skipped) > 0 {
			hint = "every line was skipped: " + report.Summary()
		}
		return nil, report, fmt.Errorf("%s: no facts found; %s", name, hint)
	}
	return facts, report, nil
}

// parseTSVLine parses one line (with its line end). It returns the fact, or nil for a line without one
// (blank, comment, header), or a problem and its kind. sawData records whether a fact line was met.
func parseTSVLine(line string, first bool, sawData *bool) (fact *Fact, kind, problem string) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if first {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	if !utf8.ValidString(line) {
		return nil, "invalid UTF-8", "invalid UTF-8; save the file as UTF-8"
	}
	if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return nil, "", ""
	}
	fields := strings.Split(line, "\t")
	if len(fields) != 3 && len(fields) != 4 {
		hint := ""
		if len(fields) == 1 && (strings.Contains(line, "  ") || strings.Contains(line, ",")) {
			hint = " (are the fields separated by spaces or commas instead of tabs?)"
		}
		return nil, "wrong number of fields", fmt.Sprintf(
			"expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got %d%s", len(fields), hint)
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	if !*sawData && isTSVHeader(fields) {
		*sawData = true
		return nil, "", ""
	}
	*sawData = true
	for i, f := range fields {
		if f == "" {
			return nil, "empty field", fmt.Sprintf("field %d (%s) is empty; fill it in or remove the line", i+1, tsvFields[i])
		}
	}
	fact = &Fact{Subject: fields[0], Relation: fields[1], Answer: fields[2]}
	if len(fields) == 4 {
		if !strings.Contains(fields[3], "{subject}") {
			return nil, "question without {subject}", fmt.Sprintf(
				"question template %q does not contain {subject}; write it like \"What is the capital of {subject}?\"", fields[3])
		}
		fact.Question = fields[3]
	}
	return fact, "", ""
}

// isTSVHeader reports whether fields are the column names.
func isTSVHeader(fields []string) bool {
	for i, f := range fields {
		if !strings.EqualFold(f, tsvFields[i]) {
			return false
		}
	}
	return true
}

// Summary describes the skipped lines on one line, grouped by kind with their first line numbers, e.g.
// "skipped 3 bad lines: 2 with an empty field (lines 4, 9), 1 with the wrong number of fields (line 7)".
// It is "" when nothing was skipped.
func (r TSVReport) Summary() string {
	if len(r.Skipped) == 0 {
		return ""
	}
	lines := map[string][]int{}
	var kinds []string
	for _, p := range r.Skipped {
		if _, ok := lines[p.Kind]; !ok {
			kinds = append(kinds, p.Kind)
		}
		lines[p.Kind] = append(lines[p.Kind], p.Line)
	}
	sort.SliceStable(kinds, func(i, j int) bool { return len(lines[kinds[i]]) > len(lines[kinds[j]]) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d with %s (%s)", len(lines[k]), tsvKindText[k], lineList(lines[k], 5))
	}
	return fmt.Sprintf("skipped %d bad %s: %s", len(r.Skipped), plural(len(r.Skipped), "line", "lines"), strings.Join(parts, ", "))
}

// tsvKindText phrases each kind of problem after "N with".
var tsvKindText = map[string]string{
	"invalid UTF-8":              "invalid UTF-8",
	"wrong number of fields":     "a number of fields other than 3 or 4",
	"empty field":                "an empty field",
	"question without {subject}": "a question template without {subject}",
}

// lineList formats line numbers as "line 4" or "lines 4, 9, …" with at most max numbers.
func lineList(nums []int, max int) string {
	var s []string
	for i, n := range nums {
		if i == max {
			s = append(s, "…")
			break
		}
		s = append(s, fmt.Sprint(n))
	}
	return plural(len(nums), "line ", "lines ") + strings.Join(s, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
