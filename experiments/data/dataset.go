package data

import "fmt"

// Dataset is everything one experiment trains and evaluates on. Documents is the training text (for
// example biographies plus the QA lines of training subjects); TrainQA are the questions whose answers
// also appear as QA text in Documents; EvalQA are held-out questions whose facts appear in Documents only
// as prose, so answering them measures knowledge extraction rather than memorised QA strings.
type Dataset struct {
	Name      string
	Documents []string
	TrainQA   []QA
	EvalQA    []QA
	Facts     []Fact
	// Meta holds generator parameters and derived numbers (e.g. "bits_per_person") for results files.
	Meta map[string]any
}

// DatasetStats sizes a dataset, e.g. to choose the number of training steps.
type DatasetStats struct {
	Documents     int `json:"documents"`
	DocumentBytes int `json:"document_bytes"` // total length of Documents, = tokens under ByteTokenizer
	TrainQA       int `json:"train_qa"`
	EvalQA        int `json:"eval_qa"`
	Facts         int `json:"facts"`
}

// Stats counts the dataset's parts.
func (d *Dataset) Stats() DatasetStats {
	s := DatasetStats{Documents: len(d.Documents), TrainQA: len(d.TrainQA), EvalQA: len(d.EvalQA), Facts: len(d.Facts)}
	for _, doc := range d.Documents {
		s.DocumentBytes += len(doc)
	}
	return s
}

// String prints the stats on one line for logs.
func (s DatasetStats) String() string {
	return fmt.Sprintf("%d documents (%d bytes), %d facts, %d train QA, %d eval QA",
		s.Documents, s.DocumentBytes, s.Facts, s.TrainQA, s.EvalQA)
}
