package data

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// chiSquareOK reports whether counts are compatible with uniform
// expectations: the statistic of a uniform sample has mean df and standard
// deviation sqrt(2·df), so a value beyond df + 6·sqrt(2·df) would happen by
// chance less than once in millions of datasets, while a biased generator
// (a value never drawn, a modulo bias, answers that follow the subject)
// lands far beyond it.
func chiSquareOK(t *testing.T, what string, counts []float64, expected []float64) {
	t.Helper()
	stat := 0.0
	for i := range counts {
		d := counts[i] - expected[i]
		stat += d * d / expected[i]
	}
	df := float64(len(counts) - 1)
	if limit := df + 6*math.Sqrt(2*df); stat > limit {
		t.Errorf("%s: chi-square %.1f with %v degrees of freedom, above %.1f: not uniform/independent", what, stat, df, limit)
	}
}

func TestRandomFactsValuesUniformAndIndependent(t *testing.T) {
	const pool = 16
	cfg := RandomFactsConfig{Facts: 20000, ValueWords: 2, ValuePool: pool, Seed: 7}
	d, err := RandomFacts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i := range pool {
		index[valueWord(i)] = i
	}
	// Each answer word is uniform over the pool, the pair uniform over
	// pool², and the first answer word independent of the subject's first
	// name word (a contingency table against the product of the margins).
	words := make([]float64, pool)
	pairs := make([]float64, pool*pool)
	names := map[string]int{}
	joint := map[[2]int]float64{}
	nameCount := map[int]float64{}
	for _, f := range d.Facts {
		v := strings.Fields(f.Answer)
		if len(v) != 2 {
			t.Fatalf("answer %q: want 2 words", f.Answer)
		}
		a, ok1 := index[v[0]]
		b, ok2 := index[v[1]]
		if !ok1 || !ok2 {
			t.Fatalf("answer %q has a word outside the first %d answer words", f.Answer, pool)
		}
		words[a]++
		words[b]++
		pairs[a*pool+b]++
		first := strings.Fields(f.Subject)[0]
		if _, ok := names[first]; !ok {
			names[first] = len(names)
		}
		n := names[first]
		joint[[2]int{n, a}]++
		nameCount[n]++
	}
	n := float64(len(d.Facts))
	chiSquareOK(t, "answer words", words, fill(pool, 2*n/pool))
	chiSquareOK(t, "answer word pairs", pairs, fill(pool*pool, n/(pool*pool)))
	var obs, exp []float64
	for name, c := range nameCount {
		for a := range pool {
			obs = append(obs, joint[[2]int{name, a}])
			exp = append(exp, c*words[a]/(2*n)) // words counts both positions: its share is words[a]/(2n)
		}
	}
	chiSquareOK(t, "first name word × first answer word", obs, exp)
}

func fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestRandomFactsSubjectsAreDistinctMultiTokenNames(t *testing.T) {
	cfg := RandomFactsConfig{Facts: 5000, Seed: 3}
	d, err := RandomFacts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := NewWordTokenizer(d.Documents, 0)
	seen := map[string]bool{}
	subjectsOf := map[string]int{} // name word -> subjects it appears in
	for _, f := range d.Facts {
		if seen[f.Subject] {
			t.Fatalf("subject %q appears twice", f.Subject)
		}
		seen[f.Subject] = true
		words := strings.Fields(f.Subject)
		if len(words) != DefaultNameWords {
			t.Fatalf("subject %q: %d words, want %d", f.Subject, len(words), DefaultNameWords)
		}
		if got := len(tok.Encode(" " + f.Subject)); got != DefaultNameWords {
			t.Errorf("subject %q is %d tokens, want one per word (%d)", f.Subject, got, DefaultNameWords)
		}
		for _, w := range words {
			subjectsOf[w]++
		}
	}
	// No single token (embedding row) identifies a subject: every name word
	// is shared by many subjects.
	for w, n := range subjectsOf {
		if n < 100 {
			t.Errorf("name word %q is in only %d subjects; want every word shared by many", w, n)
		}
	}
	// Every document has the same length in tokens, which lets training
	// windows hold whole facts (AlignedSeqLen).
	if n := UniformDocTokens(tok, d.Documents); n != 2+len(tok.Encode(d.Documents[0])) || n == 0 {
		t.Errorf("documents differ in token length (UniformDocTokens = %d)", n)
	}
}

func TestRandomFactsBitsAreExact(t *testing.T) {
	// With a pool of 3 words and 2 words per answer there are 9 possible
	// answers: every fact carries log2(9) bits, and all 9 occur.
	cfg := RandomFactsConfig{Facts: 2000, ValueWords: 2, ValuePool: 3, Seed: 1}
	d, err := RandomFacts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]bool{}
	for _, f := range d.Facts {
		answers[f.Answer] = true
	}
	if len(answers) != 9 {
		t.Errorf("%d distinct answers, want 9", len(answers))
	}
	if got, want := cfg.FactBits(), math.Log2(9); math.Abs(got-want) > 1e-12 {
		t.Errorf("FactBits = %v, want log2(9) = %v", got, want)
	}
	if got := d.Meta["total_bits"].(float64); math.Abs(got-2000*math.Log2(9)) > 1e-9 {
		t.Errorf("total_bits = %v, want %v", got, 2000*math.Log2(9))
	}
	if got := (RandomFactsConfig{}).FactBits(); got != 8 {
		t.Errorf("default FactBits = %v, want 8 (one word of 256)", got)
	}
}

func TestRandomFactsDeterministic(t *testing.T) {
	cfg := RandomFactsConfig{Facts: 300, ValueWords: 3, Seed: 5}
	a, err := RandomFacts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomFacts(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same config gave different datasets")
	}
	cfg.Seed = 6
	c, _ := RandomFacts(cfg)
	same := 0
	for i := range a.Facts {
		if a.Facts[i].Answer == c.Facts[i].Answer {
			same++
		}
	}
	if same > 3 { // chance: 300 / 256³
		t.Errorf("seeds 5 and 6 share %d of 300 answers", same)
	}
	if len(a.EvalQA) != 0 || len(a.TrainQA) != 300 || len(a.Documents) != 300 {
		t.Errorf("got %d train QA, %d eval QA, %d documents; want 300, 0, 300", len(a.TrainQA), len(a.EvalQA), len(a.Documents))
	}
	if a.Documents[0] != QAText(a.Facts[0].QA()) {
		t.Errorf("document 0 = %q, want the QA text of fact 0", a.Documents[0])
	}
}

func TestNamePools(t *testing.T) {
	for _, c := range []struct{ facts, words int }{{1, 3}, {5, 3}, {27, 3}, {28, 3}, {1000, 3}, {5000, 3}, {5000, 2}, {123457, 4}} {
		pools := namePools(c.facts, c.words)
		p := product(pools)
		if p < c.facts {
			t.Errorf("namePools(%d, %d) = %v: product %d < facts", c.facts, c.words, pools, p)
		}
		if pools[len(pools)-1]-pools[0] > 1 {
			t.Errorf("namePools(%d, %d) = %v: sizes differ by more than one", c.facts, c.words, pools)
		}
		// Minimal: shrinking the largest pool by one would not fit.
		smaller := append([]int(nil), pools...)
		smaller[len(smaller)-1]--
		if c.facts > 1 && product(smaller) >= c.facts {
			t.Errorf("namePools(%d, %d) = %v is not the smallest", c.facts, c.words, pools)
		}
	}
}

func TestRandomFactsValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  RandomFactsConfig
		want string
	}{
		{RandomFactsConfig{}, "facts=0"},
		{RandomFactsConfig{Facts: 10, NameWords: 1}, "name_words=1"},
		{RandomFactsConfig{Facts: 10, ValueWords: 9}, "value_words=9"},
		{RandomFactsConfig{Facts: 10, ValuePool: 1}, "value_pool=1"},
		{RandomFactsConfig{Facts: 10, ValuePool: RandomWordPool + 1}, "value_pool="},
		{RandomFactsConfig{Facts: MaxRandomFacts + 1}, "facts="},
	} {
		_, err := RandomFacts(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: error %v, want one line naming %q", c.cfg, err, c.want)
		}
	}
}

func TestRandomFactsMaxFits(t *testing.T) {
	if p := namePools(MaxRandomFacts, 2); p[1] > RandomWordPool {
		t.Errorf("MaxRandomFacts with 2 name words needs %d words per position, more than the %d there are", p[1], RandomWordPool)
	}
}

func TestRandomWordsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range RandomWordPool {
		for _, w := range []string{strings.ToLower(nameWord(i)), valueWord(i)} {
			if seen[w] {
				t.Fatalf("word %q is used twice (names and answers must differ even in lower case)", w)
			}
			seen[w] = true
		}
	}
}
