package data_test

import (
	"fmt"
	"strings"

	"github.com/memlayers/memlayers/experiments/data"
)

func ExampleBiographies() {
	d, err := data.Biographies(data.BioConfig{People: 4, Templates: 2, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Stats())
	fmt.Printf("%.1f bits per person\n", d.Meta["bits_per_person"])
	fmt.Print(data.QAText(d.EvalQA[1]))
	// Output:
	// 16 documents (1595 bytes), 24 facts, 12 train QA, 12 eval QA
	// 48.6 bits per person
	// Q: What is the birth city of Linda Cooper?
	// A: Prague
}

func ExamplePrompt() {
	q := data.Fact{Subject: "Ann Lee", Relation: "birth city", Answer: "Paris"}.QA()
	fmt.Printf("%q\n", data.Prompt(q))
	fmt.Printf("%q\n", data.Target(q))
	fmt.Println(data.ParseAnswer(" Paris\nQ: next question"))
	// Output:
	// "Q: What is the birth city of Ann Lee?\nA:"
	// " Paris\n"
	// Paris
}

func ExampleNewWordTokenizer() {
	tok := data.NewWordTokenizer([]string{"Ann Lee was born in Paris. Bob Lee was born in Rome."}, 100)
	ids := tok.Encode("Ann Lee was born in Rome!")
	fmt.Println(len(ids), "tokens for", len("Ann Lee was born in Rome!"), "bytes")
	fmt.Println(tok.Decode(ids))
	// Output:
	// 7 tokens for 25 bytes
	// Ann Lee was born in Rome!
}

func ExampleParseFactsTSV() {
	tsv := "subject\trelation\tanswer\nFrance\tcapital\tParis\nPeru\tcapital\tLima\tWhich city is the capital of {subject}?\n"
	facts, err := data.ParseFactsTSV(strings.NewReader(tsv), "capitals.tsv")
	if err != nil {
		panic(err)
	}
	for _, f := range facts {
		fmt.Println(f.Statement(), "|", f.QA().Question)
	}
	_, err = data.ParseFactsTSV(strings.NewReader("France capital Paris\n"), "bad.tsv")
	fmt.Println(err)
	// Output:
	// The capital of France is Paris. | What is the capital of France?
	// The capital of Peru is Lima. | Which city is the capital of Peru?
	// bad.tsv:1: expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got 1
}

func ExampleUnicodeNames() {
	facts, err := data.UnicodeNames(2, 1)
	if err != nil {
		panic(err)
	}
	for _, f := range facts {
		fmt.Print(data.QAText(f.QA()))
	}
	// Output:
	// Q: What is the Unicode name of the character '⋮'?
	// A: VERTICAL ELLIPSIS
	// Q: What is the Unicode name of the character '╕'?
	// A: BOX DRAWINGS DOWN SINGLE AND LEFT DOUBLE
}

func ExampleBatcher() {
	tok := data.ByteTokenizer{}
	windows := data.PackDocuments(tok, []string{"hello world", "memory layers"}, 8)
	b, err := data.NewBatcher(windows, 2, 1)
	if err != nil {
		panic(err)
	}
	b.Next()
	saved := b.State() // store in the checkpoint
	next := b.Next()

	resumed, _ := data.NewBatcher(windows, 2, 1)
	if err := resumed.SetState(saved); err != nil {
		panic(err)
	}
	again := resumed.Next()
	fmt.Println(len(windows), "windows; state", saved)
	fmt.Println(tok.Decode(next.Inputs[0]) == tok.Decode(again.Inputs[0]))
	// Output:
	// 4 windows; state {0 2}
	// true
}
