package data

import "strings"

// Fact is one (subject, relation, answer) triple, the unit of knowledge the experiments store and
// retrieve. Question optionally phrases the question for this fact; it may contain "{subject}" and
// "{relation}" and must contain "{subject}". When empty, DefaultQuestion is used.
type Fact struct {
	Subject, Relation, Answer, Question string
}

// DefaultQuestion is the question template for facts that have none.
const DefaultQuestion = "What is the {relation} of {subject}?"

// QA is one question with its answer, fully spelled out. A question with several accepted answers
// (aliases, several true answers) lists them all in Answers, Answer first; nil Answers means Answer is
// the only one. Evaluation counts any accepted answer as correct.
type QA struct {
	Subject, Relation, Question, Answer string
	Answers                             []string `json:",omitempty"`
}

// AcceptedAnswers returns every accepted answer, Answer first.
func (q QA) AcceptedAnswers() []string {
	if len(q.Answers) == 0 {
		return []string{q.Answer}
	}
	return q.Answers
}

// WithAnswer returns q asking for answer instead of Answer (e.g. to lay out or score one accepted answer).
func (q QA) WithAnswer(answer string) QA {
	q.Answer, q.Answers = answer, nil
	return q
}

// QuestionText returns the fact's question with the placeholders filled in.
func (f Fact) QuestionText() string {
	tmpl := f.Question
	if tmpl == "" {
		tmpl = DefaultQuestion
	}
	return strings.NewReplacer("{subject}", f.Subject, "{relation}", f.Relation).Replace(tmpl)
}

// Statement returns the declarative sentence that teaches the fact in training documents:
// "The {relation} of {subject} is {answer}."
func (f Fact) Statement() string {
	return "The " + f.Relation + " of " + f.Subject + " is " + f.Answer + "."
}

// QA returns the question–answer pair for the fact.
func (f Fact) QA() QA {
	return QA{Subject: f.Subject, Relation: f.Relation, Question: f.QuestionText(), Answer: f.Answer}
}

// Prompt, Target and ParseAnswer are the one place that defines how questions and answers appear as text,
// for training documents and for evaluation alike:
//
//	Q: What is the birth city of Ann Lee?
//	A: Paris
//
// The answer starts with a space after "A:" and ends with a newline, so a model's generation can be cut
// at the first newline, and with WordTokenizer the prompt/target boundary is also a token boundary.

// Prompt returns "Q: <question>\nA:".
func Prompt(q QA) string { return "Q: " + q.Question + "\nA:" }

// Target returns " <answer>\n": the text a model must produce after Prompt.
func Target(q QA) string { return " " + q.Answer + "\n" }

// QAText returns Prompt(q)+Target(q), the form in which training QA appears in documents.
func QAText(q QA) string { return Prompt(q) + Target(q) }

// ParseAnswer extracts the answer from text generated after a Prompt: everything up to the first newline,
// without surrounding spaces.
func ParseAnswer(generated string) string {
	if i := strings.IndexByte(generated, '\n'); i >= 0 {
		generated = generated[:i]
	}
	return strings.TrimSpace(generated)
}
