package experiments

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/memlayers/memlayers/"

// allowed is the layering doc.go draws: what each package of experiments/ may
// import from this module (tests aside). A new package gets a line here and
// a place in doc.go's picture.
var allowed = map[string][]string{
	"data":    {},
	"eval":    {},
	"plot":    {},
	"backend": {},
	"results": {"backend"},
	"lm":      {"memlayer"},
	"train":   {"memlayer", "data", "eval", "lm", "results", "backend"},
	"lab":     {"memlayer", "data", "eval", "lm", "train", "plot", "results", "backend"},
	"recall":  {"memlayer", "results", "backend"},
	"bench":   {"memlayer", "lm", "train", "lab", "plot", "results", "backend"},
	"nbhelp":  {"memlayer", "recall", "plot", "results", "backend"},
}

func TestPackagesFollowTheLayering(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		pkg := e.Name()
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("experiments/%s is not in the layering: add it to allowed in layering_test.go and to doc.go", pkg)
			continue
		}
		for _, imp := range moduleImports(t, pkg) {
			name := strings.TrimPrefix(imp, "experiments/")
			if strings.HasPrefix(imp, "memlayer/") {
				name = "memlayer" // the library's own packages (memlayer/expfree) count as the library
			}
			if name != "memlayer" && name == imp {
				t.Errorf("experiments/%s imports %s: the harness depends only on memlayer and itself", pkg, imp)
			} else if !slices.Contains(ok, name) {
				t.Errorf("experiments/%s imports %s, against the layering of doc.go (it may import %v)", pkg, imp, ok)
			}
		}
	}
}

// moduleImports lists the imports from this module of a package's non-test
// files, without the module prefix.
func moduleImports(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range parsed.Imports {
			path, _ := strconv.Unquote(spec.Path.Value)
			if strings.HasPrefix(path, module) {
				seen[strings.TrimPrefix(path, module)] = true
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
