package explain

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMessageText(t *testing.T) {
	for _, c := range []struct {
		m    message
		args []string
		want string
	}{
		{"no parameter", nil, "no parameter"},
		{"{dev} counted {n} on {dev}.", []string{"dev", "vti0", "n", "5"}, "vti0 counted 5 on vti0."},
		{"{dev} {unknown} {", []string{"dev", "x"}, "x {unknown} {"},
		{"{dev}", []string{"dev", "{dev}"}, "{dev}"}, // a value is not scanned again
		{"a{wrap}.", []string{"wrap", ""}, "a."},
	} {
		if got := c.m.text(c.args...); got != c.want {
			t.Errorf("%q.text(%q) = %q, want %q", c.m, c.args, got, c.want)
		}
	}
}

// TestMessageParameters reads the package's source: every call of a
// message's text names exactly the parameters the message has (filter
// adds {causes}), a message used otherwise has none, and every message is
// used.
func TestMessageParameters(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		name := de.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}

	// The messages: every constant of type message.
	msgs := map[string]string{}
	declared := map[*ast.Ident]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "message" {
					continue
				}
				for i, n := range vs.Names {
					s, ok := stringConst(vs.Values[i])
					if !ok {
						t.Fatalf("%s: not a string constant", n.Name)
					}
					msgs[n.Name] = s
					declared[n] = true
				}
			}
		}
	}
	if len(msgs) < 50 {
		t.Fatalf("found only %d messages", len(msgs))
	}
	placeholder := regexp.MustCompile(`\{([a-z_]+)\}`)
	params := func(name string) []string {
		var ps []string
		for _, m := range placeholder.FindAllStringSubmatch(msgs[name], -1) {
			if !slices.Contains(ps, m[1]) {
				ps = append(ps, m[1])
			}
		}
		slices.Sort(ps)
		return ps
	}
	names := func(pos token.Pos, args []ast.Expr) []string {
		var ns []string
		if len(args)%2 != 0 {
			t.Errorf("%s: odd number of message arguments", fset.Position(pos))
			return nil
		}
		for i := 0; i < len(args); i += 2 {
			lit, ok := args[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a parameter name is not a string literal", fset.Position(pos))
				continue
			}
			n, _ := strconv.Unquote(lit.Value)
			if slices.Contains(ns, n) {
				t.Errorf("%s: parameter %s given twice", fset.Position(pos), n)
			}
			ns = append(ns, n)
		}
		return ns
	}
	check := func(pos token.Pos, msg string, given []string) {
		slices.Sort(given)
		if want := params(msg); !slices.Equal(given, want) {
			t.Errorf("%s: %s gets parameters %q, has %q", fset.Position(pos), msg, given, want)
		}
	}

	used := map[string]bool{}
	checked := map[*ast.Ident]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch {
			case sel.Sel.Name == "text":
				if id, ok := sel.X.(*ast.Ident); ok && msgs[id.Name] != "" {
					check(call.Pos(), id.Name, names(call.Pos(), call.Args))
					used[id.Name], checked[id] = true, true
				}
			case sel.Sel.Name == "filter" && len(call.Args) >= 4:
				if id, ok := call.Args[3].(*ast.Ident); ok && msgs[id.Name] != "" {
					check(call.Pos(), id.Name, append(names(call.Pos(), call.Args[4:]), "causes"))
					used[id.Name], checked[id] = true, true
				}
			}
			return true
		})
	}
	// Any other use of a message: it must have no parameters.
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok || msgs[id.Name] == "" || checked[id] || declared[id] {
				return true
			}
			used[id.Name] = true
			if ps := params(id.Name); len(ps) > 0 {
				t.Errorf("%s: %s has parameters %q but is not filled by text", fset.Position(id.Pos()), id.Name, ps)
			}
			return true
		})
	}
	for name := range msgs {
		if !used[name] {
			t.Errorf("message %s is never used", name)
		}
	}
}

// stringConst evaluates a constant made of string literals and +.
func stringConst(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok1 := stringConst(e.X)
		y, ok2 := stringConst(e.Y)
		return x + y, ok1 && ok2
	case *ast.ParenExpr:
		return stringConst(e.X)
	}
	return "", false
}
