package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
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
// are trimmed. A line repeating an earlier fact is skipped; one contradicting it is an error.

// LoadFactsTSV reads facts from the TSV file at path (format above); errors name path and line.
func LoadFactsTSV(path string) ([]Fact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseFactsTSV(f, path)
}

// tsvFields names the columns, for messages.
var tsvFields = []string{"subject", "relation", "answer", "question"}

// ParseFactsTSV reads facts in the TSV format above from r; name (usually the file name) prefixes errors,
// which are one line of the form "name:line: problem; fix".
func ParseFactsTSV(r io.Reader, name string) ([]Fact, error) {
	br := bufio.NewReader(r)
	var facts []Fact
	type origin struct {
		line   int
		answer string
	}
	seen := map[[2]string]origin{}
	sawData := false // a header is only recognised before the first fact
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:%d: reading: %v", name, lineNo, err)
		}
		if line == "" && err != nil {
			break
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("%s:%d: invalid UTF-8; save the file as UTF-8", name, lineNo)
		}
		if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 && len(fields) != 4 {
			hint := ""
			if len(fields) == 1 && (strings.Contains(line, "  ") || strings.Contains(line, ",")) {
				hint = " (are the fields separated by spaces or commas instead of tabs?)"
			}
			return nil, fmt.Errorf("%s:%d: expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got %d%s", name, lineNo, len(fields), hint)
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if !sawData && isTSVHeader(fields) {
			sawData = true
			continue
		}
		sawData = true
		for i, f := range fields {
			if f == "" {
				return nil, fmt.Errorf("%s:%d: field %d (%s) is empty; fill it in or remove the line", name, lineNo, i+1, tsvFields[i])
			}
		}
		fact := Fact{Subject: fields[0], Relation: fields[1], Answer: fields[2]}
		if len(fields) == 4 {
			if !strings.Contains(fields[3], "{subject}") {
				return nil, fmt.Errorf("%s:%d: question template %q does not contain {subject}; write it like \"What is the capital of {subject}?\"", name, lineNo, fields[3])
			}
			fact.Question = fields[3]
		}
		key := [2]string{fact.Subject, fact.Relation}
		if prev, dup := seen[key]; dup {
			if prev.answer != fact.Answer {
				return nil, fmt.Errorf("%s:%d: answer %q for (%s, %s) contradicts line %d, which says %q; keep only one", name, lineNo, fact.Answer, fact.Subject, fact.Relation, prev.line, prev.answer)
			}
			continue
		}
		seen[key] = origin{lineNo, fact.Answer}
		facts = append(facts, fact)
	}
	if len(facts) == 0 {
		return nil, fmt.Errorf("%s: no facts found; add lines of the form subject<TAB>relation<TAB>answer", name)
	}
	return facts, nil
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
