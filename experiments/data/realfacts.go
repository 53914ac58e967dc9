package data

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/runenames"
)

// Real facts: knowledge that exists outside this repository, taken from Go modules rather than the
// network, so experiments can measure memorisation of true facts with nothing to download. Each function
// returns n facts (n = 0 means all available) chosen by a seeded shuffle of a fixed candidate list.

// unicodeBlocks are the code point ranges UnicodeNames draws from: long-established blocks whose
// characters and names predate every Unicode version Go has shipped, so the candidate list does not move
// with Go releases (Unicode never changes a character's name).
var unicodeBlocks = [][2]rune{
	{0x00C0, 0x024F}, // Latin-1 Supplement letters, Latin Extended-A and -B
	{0x0370, 0x03FF}, // Greek and Coptic
	{0x0400, 0x04FF}, // Cyrillic
	{0x0531, 0x0587}, // Armenian letters
	{0x05D0, 0x05EA}, // Hebrew letters
	{0x10A0, 0x10FA}, // Georgian
	{0x2190, 0x21FF}, // Arrows
	{0x2200, 0x22FF}, // Mathematical Operators
	{0x2500, 0x257F}, // Box Drawing
	{0x25A0, 0x25FF}, // Geometric Shapes
	{0x2600, 0x26FF}, // Miscellaneous Symbols
	{0x2700, 0x27BF}, // Dingbats
}

// unicodeCandidates lists the printable letters and symbols of unicodeBlocks that have a name.
func unicodeCandidates() []rune {
	var runes []rune
	for _, b := range unicodeBlocks {
		for r := b[0]; r <= b[1]; r++ {
			if !unicode.IsPrint(r) || !(unicode.IsLetter(r) || unicode.IsSymbol(r)) {
				continue
			}
			if name := runenames.Name(r); name == "" || strings.HasPrefix(name, "<") {
				continue
			}
			runes = append(runes, r)
		}
	}
	return runes
}

// UnicodeNames returns facts such as "What is the Unicode name of the character 'Ж'?" →
// "CYRILLIC CAPITAL LETTER ZHE", from golang.org/x/text/unicode/runenames.
func UnicodeNames(n int, seed int64) ([]Fact, error) {
	cands := unicodeCandidates()
	idx, err := pick("unicode names", len(cands), n, seed)
	if err != nil {
		return nil, err
	}
	facts := make([]Fact, len(idx))
	for i, k := range idx {
		r := cands[k]
		facts[i] = Fact{
			Subject:  "'" + string(r) + "'",
			Relation: "Unicode name",
			Answer:   runenames.Name(r),
			Question: "What is the Unicode name of the character {subject}?",
		}
	}
	return facts, nil
}

// LanguageNames returns facts such as "What language has the code 'de'?" → "German": the ISO 639-1
// two-letter codes that golang.org/x/text/language knows and that are their own canonical form (so
// deprecated aliases such as "iw" for "he" are skipped), named in English by
// golang.org/x/text/language/display. Codes sharing a name (e.g. "no" and "nb") are skipped as ambiguous.
func LanguageNames(n int, seed int64) ([]Fact, error) {
	namer := display.English.Languages()
	var codes, names []string
	forEachTwoLetter('a', func(code string) {
		base, err := language.ParseBase(code)
		if err != nil || base.String() != code || language.Make(code).String() != code {
			return // unknown, or a deprecated alias such as "iw" for "he".
		}
		if name := namer.Name(base); name != "" && name != code {
			codes, names = append(codes, code), append(names, name)
		}
	})
	return codeFacts("language names", codes, names, n, seed, "language", "the code", "What language has {subject}?")
}

// RegionNames returns facts such as "What country has the ISO code 'JP'?" → "Japan": the current
// ISO 3166-1 alpha-2 codes (deprecated, private-use and CLDR-only codes are skipped), named in English.
func RegionNames(n int, seed int64) ([]Fact, error) {
	namer := display.English.Regions()
	var codes, names []string
	forEachTwoLetter('A', func(code string) {
		r, err := language.ParseRegion(code)
		if err != nil || r.String() != code || !r.IsCountry() || r.IsPrivateUse() ||
			r.ISO3() == "ZZZ" || r.M49() == 0 || r.Canonicalize() != r {
			return
		}
		if name := namer.Name(r); name != "" && name != code {
			codes, names = append(codes, code), append(names, name)
		}
	})
	return codeFacts("region names", codes, names, n, seed, "country", "the ISO code", "What country has {subject}?")
}

// forEachTwoLetter calls f with every two-letter code from first+"a"/"A" onwards, in lexical order.
func forEachTwoLetter(first byte, f func(code string)) {
	for a := byte(0); a < 26; a++ {
		for b := byte(0); b < 26; b++ {
			f(string([]byte{first + a, first + b}))
		}
	}
}

// codeFacts turns parallel code/name lists into facts "The <relation> of <prefix> '<code>' is <name>.",
// leaving out names given to more than one code, whose questions would have two right answers.
func codeFacts(what string, codes, names []string, n int, seed int64, relation, prefix, question string) ([]Fact, error) {
	count := map[string]int{}
	for _, name := range names {
		count[name]++
	}
	var uc, un []string
	for i, name := range names {
		if count[name] == 1 {
			uc, un = append(uc, codes[i]), append(un, name)
		}
	}
	codes, names = uc, un
	idx, err := pick(what, len(codes), n, seed)
	if err != nil {
		return nil, err
	}
	facts := make([]Fact, len(idx))
	for i, k := range idx {
		facts[i] = Fact{Subject: prefix + " '" + codes[k] + "'", Relation: relation, Answer: names[k], Question: question}
	}
	return facts, nil
}

// pick returns n distinct indices of [0, available), chosen by a seeded shuffle and listed in increasing
// order so the facts read in a stable order; n = 0 means all.
func pick(what string, available, n int, seed int64) ([]int, error) {
	switch {
	case n < 0:
		return nil, fmt.Errorf("data: %s n=%d: must be >= 0 (0 means all %d)", what, n, available)
	case n > available:
		return nil, fmt.Errorf("data: %s n=%d: must be <= %d, the number available", what, n, available)
	case n == 0:
		n = available
	}
	idx := newRNG(seed, 2).perm(available)[:n]
	sort.Ints(idx)
	return idx, nil
}

// FactsDataset turns facts into a dataset with the same scheme as Biographies: Documents holds one
// declarative sentence per fact (Fact.Statement, grouped by subject in first-appearance order) followed
// by the QA text of the training subjects; subjects are split into train and held-out by a seeded shuffle,
// with round(trainFraction·subjects) training subjects (trainFraction 0 means 0.5). Splitting by subject
// rather than by fact keeps every question about a held-out subject unseen.
//
// Facts sharing a subject and relation but not an answer make one question with several accepted
// answers (QA.Answers, in the order given): every statement is in the training text, a training
// question's QA text appears once per answer, and Meta["several_answers"] counts such questions.
// Exact repeats are dropped.
func FactsDataset(name string, facts []Fact, trainFraction float64, seed int64) (*Dataset, error) {
	if len(facts) == 0 {
		return nil, fmt.Errorf("data: dataset %q: no facts; give at least one", name)
	}
	if err := validateFraction("train_fraction", trainFraction); err != nil {
		return nil, err
	}
	var subjects []string
	bySubject := map[string][]Fact{}
	questions := map[[2]string]*QA{}
	var order [][2]string // questions in first-appearance order
	for i, f := range facts {
		if f.Subject == "" || f.Relation == "" || f.Answer == "" {
			return nil, fmt.Errorf("data: dataset %q fact %d (%q, %q, %q): subject, relation and answer must be non-empty", name, i, f.Subject, f.Relation, f.Answer)
		}
		if f.Question != "" && !strings.Contains(f.Question, "{subject}") {
			return nil, fmt.Errorf("data: dataset %q fact %d question=%q: must contain {subject}", name, i, f.Question)
		}
		key := [2]string{f.Subject, f.Relation}
		if q, dup := questions[key]; dup {
			if slices.Contains(q.AcceptedAnswers(), f.Answer) {
				continue // an exact repeat teaches nothing new.
			}
			q.Answers = append(q.AcceptedAnswers(), f.Answer)
		} else {
			qa := f.QA()
			questions[key] = &qa
			order = append(order, key)
		}
		if _, ok := bySubject[f.Subject]; !ok {
			subjects = append(subjects, f.Subject)
		}
		bySubject[f.Subject] = append(bySubject[f.Subject], f)
	}

	nTrain := splitCount(len(subjects), trainFraction)
	isTrain := map[string]bool{}
	for _, k := range newRNG(seed, 3).perm(len(subjects))[:nTrain] {
		isTrain[subjects[k]] = true
	}
	if trainFraction == 0 {
		trainFraction = DefaultTrainFraction
	}
	several := 0
	for _, key := range order {
		if len(questions[key].Answers) > 1 {
			several++
		}
	}
	d := &Dataset{Name: name, Meta: map[string]any{
		"generator":       "facts",
		"subjects":        len(subjects),
		"train_subjects":  nTrain,
		"eval_subjects":   len(subjects) - nTrain,
		"train_fraction":  trainFraction,
		"seed":            seed,
		"questions":       len(order),
		"several_answers": several,
	}}
	for _, s := range subjects {
		statements := make([]string, len(bySubject[s]))
		for i, f := range bySubject[s] {
			statements[i] = f.Statement()
			d.Facts = append(d.Facts, f)
			key := [2]string{f.Subject, f.Relation}
			q := questions[key]
			if q == nil {
				continue // asked already (a question with several answers is asked once)
			}
			delete(questions, key)
			if isTrain[s] {
				d.TrainQA = append(d.TrainQA, *q)
			} else {
				d.EvalQA = append(d.EvalQA, *q)
			}
		}
		d.Documents = append(d.Documents, strings.Join(statements, " "))
	}
	for _, q := range d.TrainQA {
		for _, a := range q.AcceptedAnswers() {
			d.Documents = append(d.Documents, QAText(q.WithAnswer(a)))
		}
	}
	return d, nil
}
