package eval_test

import (
	"fmt"
	"math"

	"github.com/memlayers/memlayers/experiments/eval"
)

func ExampleF1() {
	fmt.Println(eval.Normalize("The  Cat, sat!"))
	fmt.Println(eval.ExactMatch("the University of Tokyo", "University of Tokyo"))
	fmt.Printf("%.2f\n", eval.F1("the cat sat", "a cat sat down"))
	// Output:
	// cat sat
	// true
	// 0.80
}

func ExampleAccumulator() {
	var acc eval.Accumulator
	acc.Add("Paris", "Paris", 0.5)
	acc.Add("Lyon", "Paris", 2.5)
	acc.Add("New York City", "New York", math.NaN()) // NLL not computed for this one
	fmt.Println(acc.Scores())
	// Output: n=3 EM=33.3% F1=60.0% answer NLL=1.500
}
