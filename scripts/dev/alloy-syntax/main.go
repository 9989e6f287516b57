// Command devpush-alloy-syntax parses Grafana Alloy configuration files with
// Alloy's own parser (github.com/grafana/alloy/syntax), without an Alloy binary:
//
//	devpush-alloy-syntax [--blocks] FILE...
//
// Each file that parses prints "FILE: ok (N blocks)"; with --blocks, also each
// top-level block as "NAME LABEL" (e.g. `loki.write loki`). A file that does not
// parse prints every diagnostic as "FILE:LINE:COL: MESSAGE" on stderr, and the
// command exits 1. It checks syntax only: component names and their arguments
// are Alloy's to check when it loads the file.
//
// It is built by scripts/dev/go-tool.sh alloy-syntax and used by tests/compose/.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/grafana/alloy/syntax/ast"
	"github.com/grafana/alloy/syntax/diag"
	"github.com/grafana/alloy/syntax/parser"
)

func main() {
	fs := flag.NewFlagSet("devpush-alloy-syntax", flag.ContinueOnError)
	blocks := fs.Bool("blocks", false, "print each top-level block as NAME LABEL")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: devpush-alloy-syntax [--blocks] FILE...")
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	failed := false
	for _, path := range fs.Args() {
		if !check(path, *blocks) {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// check parses one file and reports it; false when it does not parse.
func check(path string, blocks bool) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return false
	}
	file, err := parser.ParseFile(path, data)
	if err != nil {
		var diags diag.Diagnostics
		if errors.As(err, &diags) {
			// Every diagnostic, each with its file:line:column.
			for _, d := range diags {
				fmt.Fprintf(os.Stderr, "%s: %s\n", d.StartPos, d.Message)
			}
		} else {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		}
		return false
	}
	var names []string
	for _, stmt := range file.Body {
		if block, ok := stmt.(*ast.BlockStmt); ok {
			names = append(names, strings.TrimSpace(strings.Join(block.Name, ".")+" "+block.Label))
		}
	}
	fmt.Printf("%s: ok (%d blocks)\n", path, len(names))
	if blocks {
		for _, name := range names {
			fmt.Println(name)
		}
	}
	return true
}
