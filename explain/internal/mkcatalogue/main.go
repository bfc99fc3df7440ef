// Command mkcatalogue writes explain's cause catalogue as Markdown
// (CATALOGUE.md). Run it through go generate in the explain directory.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/tunnelstat/tunnelstat/explain"
)

func main() {
	out := flag.String("o", "CATALOGUE.md", "output file")
	flag.Parse()
	var b bytes.Buffer
	if err := explain.WriteCatalogueMarkdown(&b); err != nil {
		fmt.Fprintln(os.Stderr, "mkcatalogue:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkcatalogue:", err)
		os.Exit(1)
	}
}
