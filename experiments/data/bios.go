package data

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// BioConfig configures Biographies, a synthetic knowledge-extraction dataset after Allen-Zhu & Li's bioS:
// every person has six attributes written as prose; questions about half of the people are trained, and
// questions about the other half test whether the model can extract facts it only read as prose.
type BioConfig struct {
	// People is the number of distinct people, 1 ≤ People ≤ MaxBioPeople().
	People int
	// Templates is how many phrasings each attribute sentence may take (1 ≤ Templates ≤
	// BioTemplateVariants); each person gets one phrasing per attribute, drawn from the seed. More
	// phrasings make knowledge easier to extract (bioS "multi" vs "single").
	Templates int
	// TrainFraction is the fraction of people whose QA pairs are training text, in (0, 1]; 0 means 0.5.
	TrainFraction float64
	// Seed makes the dataset reproducible: the same config gives a byte-identical dataset.
	Seed int64
}

// BioTemplateVariants is the number of phrasings written for each attribute sentence.
const BioTemplateVariants = 6

// DefaultTrainFraction is used when a config's TrainFraction is 0.
const DefaultTrainFraction = 0.5

// MaxBioPeople is the number of distinct full names the name vocabularies can form.
func MaxBioPeople() int { return (len(femaleFirstNames) + len(maleFirstNames)) * len(lastNames) }

// trainFraction resolves the 0-means-default rule.
func (c BioConfig) trainFraction() float64 {
	if c.TrainFraction == 0 {
		return DefaultTrainFraction
	}
	return c.TrainFraction
}

// Validate checks the config; errors name the field, the bad value and the rule.
func (c BioConfig) Validate() error {
	switch {
	case c.People < 1:
		return fmt.Errorf("data: people=%d: must be >= 1", c.People)
	case c.People > MaxBioPeople():
		return fmt.Errorf("data: people=%d: must be <= %d (the number of distinct names the vocabularies can form)", c.People, MaxBioPeople())
	case c.Templates < 1 || c.Templates > BioTemplateVariants:
		return fmt.Errorf("data: templates=%d: must be between 1 and %d", c.Templates, BioTemplateVariants)
	}
	return validateFraction("train_fraction", c.TrainFraction)
}

// validateFraction checks a train fraction where 0 means the default.
func validateFraction(field string, f float64) error {
	if math.IsNaN(f) || f < 0 || f > 1 {
		return fmt.Errorf("data: %s=%v: must be in (0, 1], or 0 for the default %v", field, f, DefaultTrainFraction)
	}
	return nil
}

// splitCount is the number of training items out of n for fraction f (0 meaning the default): at least
// one when n > 0, so every dataset has something to train on.
func splitCount(n int, f float64) int {
	if f == 0 {
		f = DefaultTrainFraction
	}
	k := int(math.Round(f * float64(n)))
	return max(min(k, n), min(1, n))
}

// bioAttribute is one of the six facts about a person.
type bioAttribute struct {
	relation string // e.g. "birth city"; also the Fact's Relation
	question string // question template with {subject}
	size     int    // number of possible values
	value    func(i int) string
	// article: in prose, values containing " of " take "the" ("graduated from the University of
	// Tokyo"); the answer itself stays bare, and Normalize drops articles anyway.
	article   bool
	templates [BioTemplateVariants]string // sentences with {name}, {He}, {he}, {His}, {his}, {X}
}

// Birth dates are the days of 1900–1999.
var (
	firstBirthDate = time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)
	numBirthDates  = int(time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC).Sub(firstBirthDate).Hours() / 24)
)

func birthDate(i int) string { return firstBirthDate.AddDate(0, 0, i).Format("January 2, 2006") }

func listValue(list []string) func(int) string { return func(i int) string { return list[i] } }

// bioAttributes lists the attributes in the order they appear in a biography.
var bioAttributes = []bioAttribute{
	{
		relation: "birth date", question: "What is the birth date of {subject}?",
		size: numBirthDates, value: birthDate,
		templates: [BioTemplateVariants]string{
			"{name} was born on {X}.",
			"{name} came into the world on {X}.",
			"{name}'s birthday is {X}.",
			"The birth of {name} took place on {X}.",
			"{name} entered life on {X}.",
			"On {X}, {name} was born.",
		},
	},
	{
		relation: "birth city", question: "What is the birth city of {subject}?",
		size: len(cities), value: listValue(cities),
		templates: [BioTemplateVariants]string{
			"{He} was born in {X}.",
			"{He} spent {his} early years in {X}.",
			"{name} grew up in {X}, the city of {his} birth.",
			"{His} birthplace is {X}.",
			"{name} is a native of {X}.",
			"{He} first saw the light of day in {X}.",
		},
	},
	{
		relation: "university", question: "Which university did {subject} attend?",
		size: len(universities), value: listValue(universities), article: true,
		templates: [BioTemplateVariants]string{
			"{He} studied at {X}.",
			"{He} attended {X}.",
			"{name} graduated from {X}.",
			"{He} earned a degree at {X}.",
			"{His} alma mater is {X}.",
			"{name} spent {his} student years at {X}.",
		},
	},
	{
		relation: "major", question: "What did {subject} study?",
		size: len(majors), value: listValue(majors),
		templates: [BioTemplateVariants]string{
			"{He} majored in {X}.",
			"{His} field of study was {X}.",
			"{name} specialized in {X}.",
			"{He} chose {X} as {his} major.",
			"{He} wrote a thesis in {X}.",
			"{name} pursued a degree in {X}.",
		},
	},
	{
		relation: "employer", question: "Which company does {subject} work for?",
		size: len(employers), value: listValue(employers),
		templates: [BioTemplateVariants]string{
			"{He} works for {X}.",
			"{He} is employed by {X}.",
			"{name} holds a position at {X}.",
			"{His} employer is {X}.",
			"{name} has a job at {X}.",
			"{He} joined the staff of {X}.",
		},
	},
	{
		relation: "employer city", question: "In which city does {subject} work?",
		size: len(cities), value: listValue(cities),
		templates: [BioTemplateVariants]string{
			"{He} works in {X}.",
			"{His} office is located in {X}.",
			"{name} commutes to work in {X}.",
			"{He} is based in {X} for work.",
			"{name}'s workplace is in {X}.",
			"{He} earns a living in {X}.",
		},
	},
}

// BioFactBits is the information in one person's attributes, in bits: the sum over attributes of
// log2(number of possible values), as if each were drawn uniformly (which Biographies does). Multiplied by
// the number of people, it is the knowledge a model must store to answer every question, the numerator of
// the bits-per-parameter capacity measure. The config does not change it today; it is an argument so
// that configs which shrink or grow the vocabularies keep the same call.
func BioFactBits(cfg BioConfig) float64 {
	bits := 0.0
	for _, a := range bioAttributes {
		bits += math.Log2(float64(a.size))
	}
	return bits
}

// person is one generated biography subject.
type person struct {
	name      string
	female    bool
	values    []string // one per bioAttributes entry
	templates []int    // chosen phrasing per attribute
}

// Biographies generates the dataset described by cfg. Documents holds every person's biography (in person
// order) followed by one QAText document per training question; TrainQA/EvalQA hold the questions of the
// first round(TrainFraction·People) people and of the rest; Facts holds all facts in person order.
func Biographies(cfg BioConfig) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	people := generatePeople(cfg)
	nTrain := splitCount(len(people), cfg.trainFraction())
	d := &Dataset{
		Name: fmt.Sprintf("bios-p%d-t%d-s%d", cfg.People, cfg.Templates, cfg.Seed),
		Meta: map[string]any{
			"generator":       "biographies",
			"people":          cfg.People,
			"train_people":    nTrain,
			"eval_people":     len(people) - nTrain,
			"templates":       cfg.Templates,
			"train_fraction":  cfg.trainFraction(),
			"seed":            cfg.Seed,
			"bits_per_person": BioFactBits(cfg),
			"total_bits":      BioFactBits(cfg) * float64(cfg.People),
		},
	}
	for _, p := range people {
		d.Documents = append(d.Documents, p.biography())
	}
	for i, p := range people {
		for a, attr := range bioAttributes {
			f := Fact{Subject: p.name, Relation: attr.relation, Answer: p.values[a], Question: attr.question}
			d.Facts = append(d.Facts, f)
			if i < nTrain {
				d.TrainQA = append(d.TrainQA, f.QA())
			} else {
				d.EvalQA = append(d.EvalQA, f.QA())
			}
		}
	}
	for _, q := range d.TrainQA {
		d.Documents = append(d.Documents, QAText(q))
	}
	return d, nil
}

// generatePeople draws distinct names by a partial Fisher–Yates shuffle of the name space, then each
// person's attributes and phrasings from a stream of its own, so the first k people of a larger dataset
// are the same as those of a smaller one with the same seed.
func generatePeople(cfg BioConfig) []person {
	nLast := len(lastNames)
	space := MaxBioPeople()
	nameRNG := newRNG(cfg.Seed, 0)
	swapped := map[int]int{} // sparse Fisher–Yates: position -> value where it differs from identity
	at := func(i int) int {
		if v, ok := swapped[i]; ok {
			return v
		}
		return i
	}
	people := make([]person, cfg.People)
	for i := range people {
		j := i + nameRNG.intn(space-i)
		vi, vj := at(i), at(j)
		swapped[i], swapped[j] = vj, vi
		first, last := vj/nLast, vj%nLast
		p := &people[i]
		if first < len(femaleFirstNames) {
			p.name, p.female = femaleFirstNames[first], true
		} else {
			p.name = maleFirstNames[first-len(femaleFirstNames)]
		}
		p.name += " " + lastNames[last]

		r := newRNG(cfg.Seed, 1, uint64(i))
		p.values = make([]string, len(bioAttributes))
		for a, attr := range bioAttributes {
			p.values[a] = attr.value(r.intn(attr.size))
		}
		p.templates = make([]int, len(bioAttributes))
		for a := range bioAttributes {
			p.templates[a] = r.intn(cfg.Templates)
		}
	}
	return people
}

// biography writes the person's sentences, one per attribute, in attribute order.
func (p person) biography() string {
	he, his := "he", "his"
	if p.female {
		he, his = "she", "her"
	}
	fill := strings.NewReplacer("{name}", p.name,
		"{He}", capitalize(he), "{he}", he, "{His}", capitalize(his), "{his}", his)
	sentences := make([]string, len(bioAttributes))
	for a, attr := range bioAttributes {
		value := p.values[a]
		if attr.article && strings.Contains(value, " of ") {
			value = "the " + value
		}
		sentences[a] = strings.Replace(fill.Replace(attr.templates[p.templates[a]]), "{X}", value, 1)
	}
	return strings.Join(sentences, " ")
}

// capitalize upper-cases an ASCII first letter.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// BioAttributes is the number of attributes (facts) per person.
func BioAttributes() int { return len(bioAttributes) }
