package explain

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// CATALOGUE.md is what WriteCatalogueMarkdown writes: run go generate
// ./explain/ after changing the catalogue.
func TestCatalogueMarkdownUpToDate(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCatalogueMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("CATALOGUE.md")
	if err != nil {
		t.Fatalf("%v (run go generate ./explain/)", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("CATALOGUE.md is stale: run go generate ./explain/")
	}
}

// The package documentation lists every cause ID.
func TestDocListsEveryCause(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range catalogue {
		re := regexp.MustCompile(`(^|[\s(])` + regexp.QuoteMeta(string(c.ID)) + `[\s,.;)]`)
		if !re.Match(doc) {
			t.Errorf("doc.go does not list %s", c.ID)
		}
	}
}
