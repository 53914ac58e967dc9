package data

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestBioVocabulariesAreUnique(t *testing.T) {
	lists := map[string][]string{
		"femaleFirstNames": femaleFirstNames, "maleFirstNames": maleFirstNames, "lastNames": lastNames,
		"cities": cities, "universities": universities, "majors": majors, "employers": employers,
	}
	for name, list := range lists {
		seen := map[string]bool{}
		for _, v := range list {
			if v == "" || strings.TrimSpace(v) != v || seen[v] {
				t.Errorf("%s: entry %q is empty, padded or repeated", name, v)
			}
			seen[v] = true
		}
		if len(list) < 50 {
			t.Errorf("%s has %d entries, want >= 50", name, len(list))
		}
	}
	firsts := map[string]bool{}
	for _, f := range append(append([]string(nil), femaleFirstNames...), maleFirstNames...) {
		if firsts[f] {
			t.Errorf("first name %q is both female and male", f)
		}
		firsts[f] = true
	}
	for _, l := range lastNames {
		if firsts[l] {
			t.Errorf("%q is both a first and a last name", l)
		}
		if strings.Contains(l, " ") {
			t.Errorf("last name %q contains a space", l)
		}
	}
	if MaxBioPeople() < 10000 {
		t.Errorf("MaxBioPeople() = %d, want enough for thousands of people", MaxBioPeople())
	}
	for _, a := range bioAttributes {
		for i, tmpl := range a.templates {
			if !strings.Contains(tmpl, "{X}") || !strings.HasSuffix(tmpl, ".") {
				t.Errorf("%s template %d %q must contain {X} and end with a period", a.relation, i, tmpl)
			}
		}
		if !strings.Contains(a.question, "{subject}") {
			t.Errorf("%s question %q lacks {subject}", a.relation, a.question)
		}
	}
	for i, tmpl := range bioAttributes[0].templates {
		if !strings.Contains(tmpl, "{name}") {
			t.Errorf("first sentence template %d %q must name the person (pronouns need an antecedent)", i, tmpl)
		}
	}
}

func TestBioConfigValidate(t *testing.T) {
	ok := BioConfig{People: 10, Templates: 2, Seed: 1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	cases := []struct {
		mutate func(*BioConfig)
		want   string
	}{
		{func(c *BioConfig) { c.People = 0 }, "data: people=0: must be >= 1"},
		{func(c *BioConfig) { c.People = MaxBioPeople() + 1 }, "must be <= 28800"},
		{func(c *BioConfig) { c.Templates = 0 }, "data: templates=0: must be between 1 and 6"},
		{func(c *BioConfig) { c.Templates = 7 }, "templates=7"},
		{func(c *BioConfig) { c.TrainFraction = 1.5 }, "train_fraction=1.5: must be in (0, 1]"},
		{func(c *BioConfig) { c.TrainFraction = -0.1 }, "train_fraction=-0.1"},
		{func(c *BioConfig) { c.TrainFraction = math.NaN() }, "train_fraction=NaN"},
	}
	for _, c := range cases {
		cfg := ok
		c.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", cfg, err, c.want)
		}
		if _, err2 := Biographies(cfg); err2 == nil {
			t.Errorf("Biographies(%+v) accepted an invalid config", cfg)
		}
	}
	full := BioConfig{People: MaxBioPeople(), Templates: 1}
	if err := full.Validate(); err != nil {
		t.Errorf("People = MaxBioPeople() rejected: %v", err)
	}
}

func TestBiographiesDeterministic(t *testing.T) {
	cfg := BioConfig{People: 50, Templates: 3, Seed: 7}
	a, err := Biographies(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Biographies(cfg)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("same config gave different datasets")
	}
	cfg.Seed = 8
	c, _ := Biographies(cfg)
	if reflect.DeepEqual(a.Documents, c.Documents) || reflect.DeepEqual(a.Facts, c.Facts) {
		t.Fatal("different seeds gave the same dataset")
	}
	// A larger dataset with the same seed starts with the same people (scaling runs are nested).
	big, _ := Biographies(BioConfig{People: 200, Templates: 3, Seed: 7})
	if !reflect.DeepEqual(big.Documents[:50], a.Documents[:50]) || !reflect.DeepEqual(big.Facts[:50*6], a.Facts) {
		t.Fatal("the first people of a larger dataset differ from the smaller one")
	}
}

// TestBiographiesGolden pins one biography so that any change to vocabularies, templates or the random
// stream (which would invalidate saved results) is noticed.
func TestBiographiesGolden(t *testing.T) {
	d, err := Biographies(BioConfig{People: 4, Templates: 6, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := "Maria Owens was born on March 2, 1957. Maria Owens grew up in Stockholm, the city of her birth. " +
		"Maria Owens graduated from the University of Texas at Austin. She chose English Literature as her major. " +
		"Maria Owens holds a position at Adobe. Maria Owens's workplace is in Brussels."
	if d.Documents[3] != want {
		t.Fatalf("biography 3 changed:\n got %q\nwant %q", d.Documents[3], want)
	}
}

func TestBiographiesStructure(t *testing.T) {
	cfg := BioConfig{People: 101, Templates: 4, TrainFraction: 0.3, Seed: 3}
	d, err := Biographies(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nAttr := len(bioAttributes)
	nTrain := 30 // round(0.3 · 101)
	if len(d.Facts) != 101*nAttr || len(d.TrainQA) != nTrain*nAttr || len(d.EvalQA) != (101-nTrain)*nAttr {
		t.Fatalf("facts/train/eval = %d/%d/%d", len(d.Facts), len(d.TrainQA), len(d.EvalQA))
	}
	if len(d.Documents) != 101+len(d.TrainQA) {
		t.Fatalf("%d documents, want one biography per person plus one per train QA", len(d.Documents))
	}
	if d.Meta["train_people"] != nTrain || d.Meta["eval_people"] != 101-nTrain || d.Meta["people"] != 101 {
		t.Errorf("Meta = %v", d.Meta)
	}

	names := map[string]bool{}
	for i := 0; i < len(d.Facts); i += nAttr {
		names[d.Facts[i].Subject] = true
	}
	if len(names) != 101 {
		t.Fatalf("%d distinct names for 101 people", len(names))
	}

	docs := strings.Join(d.Documents, "\n\x00")
	for p := range 101 {
		bio := d.Documents[p]
		subject := d.Facts[p*nAttr].Subject
		if !strings.HasPrefix(bio, subject) && !strings.Contains(bio, " "+subject) {
			t.Errorf("biography %d does not name %q: %q", p, subject, bio)
		}
		for a := range nAttr {
			f := d.Facts[p*nAttr+a]
			if f.Subject != subject || f.Relation != bioAttributes[a].relation {
				t.Fatalf("fact %d = %+v out of order", p*nAttr+a, f)
			}
			if !strings.Contains(bio, f.Answer) {
				t.Errorf("biography of %s lacks %s %q", subject, f.Relation, f.Answer)
			}
		}
	}
	// Held-out people: their biographies are in Documents, but none of their QA text is.
	for _, q := range d.EvalQA {
		if strings.Contains(docs, q.Question) {
			t.Fatalf("held-out question %q appears in Documents", q.Question)
		}
		if !strings.Contains(docs, q.Answer) {
			t.Fatalf("held-out answer %q is missing from Documents", q.Answer)
		}
	}
	for _, q := range d.TrainQA {
		if !strings.Contains(docs, QAText(q)) {
			t.Fatalf("train QA %q missing from Documents", QAText(q))
		}
	}
	trainSubjects := map[string]bool{}
	for _, q := range d.TrainQA {
		trainSubjects[q.Subject] = true
	}
	for _, q := range d.EvalQA {
		if trainSubjects[q.Subject] {
			t.Fatalf("%s has both train and eval questions", q.Subject)
		}
	}
}

func TestBiographiesTemplatesAndPronouns(t *testing.T) {
	one, _ := Biographies(BioConfig{People: 40, Templates: 1, Seed: 2})
	for p := range 40 {
		if !strings.Contains(one.Documents[p], " was born on ") {
			t.Fatalf("Templates=1 must always use the first phrasing: %q", one.Documents[p])
		}
	}
	many, _ := Biographies(BioConfig{People: 200, Templates: BioTemplateVariants, Seed: 2})
	for p := range 200 {
		bio := many.Documents[p]
		female := false
		for _, f := range femaleFirstNames {
			if strings.HasPrefix(many.Facts[p*len(bioAttributes)].Subject, f+" ") {
				female = true
			}
		}
		if female && (strings.Contains(bio, " He ") || strings.Contains(bio, " his ")) ||
			!female && (strings.Contains(bio, " She ") || strings.Contains(bio, " her ")) {
			t.Fatalf("pronouns do not match the first name: %q", bio)
		}
	}
	used := map[[2]int]bool{}
	for _, p := range generatePeople(BioConfig{People: 200, Templates: BioTemplateVariants, Seed: 2}) {
		for a, k := range p.templates {
			used[[2]int{a, k}] = true
		}
	}
	if len(used) != len(bioAttributes)*BioTemplateVariants {
		t.Errorf("only %d of %d (attribute, phrasing) pairs used across 200 people", len(used), len(bioAttributes)*BioTemplateVariants)
	}
}

func TestBioFactBits(t *testing.T) {
	// Days of 1900–1999: 100·365 + 24 leap days (1900 is not a leap year).
	want := math.Log2(36524) + 2*math.Log2(120) + math.Log2(100) + math.Log2(80) + math.Log2(100)
	cfg := BioConfig{People: 10, Templates: 1, Seed: 1}
	if got := BioFactBits(cfg); math.Abs(got-want) > 1e-9 {
		t.Fatalf("BioFactBits = %v, want %v", got, want)
	}
	d, _ := Biographies(cfg)
	if d.Meta["bits_per_person"] != BioFactBits(cfg) || math.Abs(d.Meta["total_bits"].(float64)-10*want) > 1e-9 {
		t.Fatalf("Meta bits = %v / %v", d.Meta["bits_per_person"], d.Meta["total_bits"])
	}
	if numBirthDates != 36524 || birthDate(0) != "January 1, 1900" || birthDate(numBirthDates-1) != "December 31, 1999" {
		t.Fatalf("birth dates: %d from %q to %q", numBirthDates, birthDate(0), birthDate(numBirthDates-1))
	}
}

func TestBiographiesSplitEdges(t *testing.T) {
	d, err := Biographies(BioConfig{People: 1, Templates: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.TrainQA) != len(bioAttributes) || len(d.EvalQA) != 0 {
		t.Errorf("one person: %d train, %d eval QA; the only person must be trained", len(d.TrainQA), len(d.EvalQA))
	}
	d, _ = Biographies(BioConfig{People: 10, Templates: 1, TrainFraction: 1, Seed: 1})
	if len(d.EvalQA) != 0 || len(d.TrainQA) != 60 {
		t.Errorf("TrainFraction=1: %d train, %d eval QA", len(d.TrainQA), len(d.EvalQA))
	}
	if got := splitCount(10, 0.01); got != 1 {
		t.Errorf("splitCount(10, 0.01) = %d, want at least one training item", got)
	}
}
