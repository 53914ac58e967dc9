package data

import (
	"fmt"
	"math"
	"strings"
)

// RandomFactsConfig configures RandomFacts: facts whose answers are drawn independently and uniformly at
// random, so that nothing about one fact can be inferred from the others and the information a model must
// store to answer them all is exactly Facts × ValueWords × log2(ValuePool) bits (Allen-Zhu & Li's
// knowledge-capacity setting, without the prose). Zero fields take the defaults listed with each field.
type RandomFactsConfig struct {
	// Facts is the number of facts, one per subject, 1..MaxRandomFacts.
	Facts int `json:"facts"`
	// NameWords is the number of words in a subject's name, each its own token under the word tokenizer,
	// 2..5 (0: 3). Every word is shared by many subjects, so no single embedding row identifies a subject:
	// a model must combine the words to recall the fact.
	NameWords int `json:"name_words"`
	// ValueWords is the number of words in an answer, 1..4 (0: 1).
	ValueWords int `json:"value_words"`
	// ValuePool is the number of possible words at each answer position, 2..RandomWordPool (0: 256).
	ValuePool int `json:"value_pool"`
	// Seed makes the dataset reproducible: the same config gives a byte-identical dataset.
	Seed int64 `json:"seed"`
}

// Defaults of RandomFactsConfig's zero fields.
const (
	DefaultNameWords  = 3
	DefaultValueWords = 1
	DefaultValuePool  = 256
	// MaxRandomFacts bounds Facts: with at least two name words, every name position then needs at
	// most ⌈√MaxRandomFacts⌉ = 2,048 words, fewer than RandomWordPool.
	MaxRandomFacts = 1 << 22
)

// withDefaults resolves the zero fields.
func (c RandomFactsConfig) withDefaults() RandomFactsConfig {
	if c.NameWords == 0 {
		c.NameWords = DefaultNameWords
	}
	if c.ValueWords == 0 {
		c.ValueWords = DefaultValueWords
	}
	if c.ValuePool == 0 {
		c.ValuePool = DefaultValuePool
	}
	return c
}

// Validate checks the config; errors name the field, the bad value and the rule.
func (c RandomFactsConfig) Validate() error {
	c = c.withDefaults()
	var errs []string
	bad := func(field string, v any, rule string) {
		errs = append(errs, fmt.Sprintf("data: random facts %s=%v: %s", field, v, rule))
	}
	if c.Facts < 1 || c.Facts > MaxRandomFacts {
		bad("facts", c.Facts, fmt.Sprintf("must be between 1 and %d", MaxRandomFacts))
	}
	if c.NameWords < 2 || c.NameWords > 5 {
		bad("name_words", c.NameWords, "must be between 2 and 5 (0 means 3)")
	}
	if c.ValueWords < 1 || c.ValueWords > 4 {
		bad("value_words", c.ValueWords, "must be between 1 and 4 (0 means 1)")
	}
	if c.ValuePool < 2 || c.ValuePool > RandomWordPool {
		bad("value_pool", c.ValuePool, fmt.Sprintf("must be between 2 and %d (0 means %d)", RandomWordPool, DefaultValuePool))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// FactBits is the information in one fact's answer, in bits: ValueWords × log2(ValuePool), since every
// answer word is drawn uniformly and independently of everything else.
func (c RandomFactsConfig) FactBits() float64 {
	c = c.withDefaults()
	return float64(c.ValueWords) * math.Log2(float64(c.ValuePool))
}

// RandomWordPool is the number of made-up words available to names and, separately, to answers.
var RandomWordPool = len(randomWords) / 2

// randomWords are two-syllable made-up words (consonant-vowel twice), in a fixed shuffled order; the
// first RandomWordPool become capitalised name words, the rest answer words, so that no answer can be
// confused with a name even after case folding.
var randomWords = func() []string {
	const consonants, vowels = "bdfgklmnprstvz", "aeiou"
	var syllables []string
	for _, c := range consonants {
		for _, v := range vowels {
			syllables = append(syllables, string(c)+string(v))
		}
	}
	var words []string
	for _, a := range syllables {
		for _, b := range syllables {
			words = append(words, a+b)
		}
	}
	out := make([]string, len(words))
	for i, j := range newRNG(0x6d656d6f, 0).perm(len(words)) { // a fixed order, the same for every dataset
		out[i] = words[j]
	}
	return out
}()

func nameWord(i int) string {
	w := randomWords[i]
	return strings.ToUpper(w[:1]) + w[1:]
}

func valueWord(i int) string { return randomWords[RandomWordPool+i] }

// namePools returns how many words each name position draws from: sizes that differ by at most one, the
// smaller ones first, whose product is the smallest such product >= facts. With names drawn without
// replacement from nearly the whole product, which names exist carries almost no information, and every
// word (as a token) is nearly uniform and independent of the other positions.
func namePools(facts, words int) []int {
	p := max(1, int(math.Floor(math.Pow(float64(facts), 1/float64(words)))))
	for p > 1 && intPow(p, words) > facts { // guard against Pow rounding either way
		p--
	}
	for intPow(p+1, words) <= facts {
		p++
	}
	pools := make([]int, words)
	for i := range pools {
		pools[i] = p
	}
	for i := len(pools) - 1; product(pools) < facts; i-- {
		pools[i]++ // grow the last positions first, keeping the list sorted
	}
	return pools
}

func intPow(b, e int) int {
	r := 1
	for range e {
		r *= b
	}
	return r
}

func product(xs []int) int {
	r := 1
	for _, x := range xs {
		r *= x
	}
	return r
}

// RandomFacts generates the dataset described by cfg. Every fact has its own subject, a name of NameWords
// made-up capitalised words, and an answer of ValueWords made-up lowercase words; its question is the
// name alone ("Q: Bako Demi Fura\nA: kelo"). Documents holds one QAText per fact, the only training text;
// TrainQA holds every fact's question (there is nothing held out: random answers cannot be inferred) and
// EvalQA is empty.
func RandomFacts(cfg RandomFactsConfig) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pools := namePools(cfg.Facts, cfg.NameWords)
	names := newRNG(cfg.Seed, 10).perm(product(pools))[:cfg.Facts]
	d := &Dataset{
		Name: fmt.Sprintf("random-facts-f%d-n%d-v%dx%d-s%d", cfg.Facts, cfg.NameWords, cfg.ValueWords, cfg.ValuePool, cfg.Seed),
		Meta: map[string]any{
			"generator":     "random-facts",
			"facts":         cfg.Facts,
			"name_words":    cfg.NameWords,
			"name_pools":    pools,
			"value_words":   cfg.ValueWords,
			"value_pool":    cfg.ValuePool,
			"seed":          cfg.Seed,
			"bits_per_fact": cfg.FactBits(),
			"total_bits":    cfg.FactBits() * float64(cfg.Facts),
		},
	}
	name := make([]string, cfg.NameWords)
	value := make([]string, cfg.ValueWords)
	for i, idx := range names {
		for j := len(pools) - 1; j >= 0; j-- { // mixed-radix digits of idx, one per position
			name[j] = nameWord(idx % pools[j])
			idx /= pools[j]
		}
		r := newRNG(cfg.Seed, 11, uint64(i))
		for j := range value {
			value[j] = valueWord(r.intn(cfg.ValuePool))
		}
		f := Fact{Subject: strings.Join(name, " "), Relation: "code", Answer: strings.Join(value, " "), Question: "{subject}"}
		d.Facts = append(d.Facts, f)
		d.TrainQA = append(d.TrainQA, f.QA())
		d.Documents = append(d.Documents, QAText(f.QA()))
	}
	return d, nil
}
