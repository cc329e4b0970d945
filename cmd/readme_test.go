// The README's Go snippets are programs: each compiles and runs, and prints
// the output the README shows after it.
package cmd_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// snippet is one ```go block of the README and the Output: block after
// it, if any.
type snippet struct {
	line         int
	code, output string
	hasOutput    bool
}

var (
	goBlock     = regexp.MustCompile("(?s)```go\n(.*?)```\n")
	outputBlock = regexp.MustCompile("(?s)^\\s*Output:\\s*\n```\n(.*?)```\n")
)

func snippets(readme string) []snippet {
	var out []snippet
	for _, m := range goBlock.FindAllStringSubmatchIndex(readme, -1) {
		s := snippet{line: 1 + strings.Count(readme[:m[0]], "\n"), code: readme[m[2]:m[3]]}
		if o := outputBlock.FindStringSubmatch(readme[m[1]:]); o != nil {
			s.output, s.hasOutput = o[1], true
		}
		out = append(out, s)
	}
	return out
}

func TestREADMESnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every README snippet; not under -short")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	all := snippets(string(readme))
	if len(all) < 3 {
		t.Fatalf("found %d Go snippets in README.md, want at least 3", len(all))
	}
	for _, s := range all {
		t.Run("line"+strconv.Itoa(s.line), func(t *testing.T) {
			if !strings.HasPrefix(s.code, "package main\n") {
				t.Fatalf("README.md:%d: a Go snippet must be a whole program (package main)", s.line)
			}
			file := filepath.Join(t.TempDir(), "main.go")
			if err := os.WriteFile(file, []byte(s.code), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "run", file)
			cmd.Dir = root // the workspace: every module of the repository
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("README.md:%d: go run: %v\n%s%s", s.line, err, stdout.String(), stderr.String())
			}
			if s.hasOutput && stdout.String() != s.output {
				t.Fatalf("README.md:%d: printed\n%s\nREADME shows\n%s", s.line, stdout.String(), s.output)
			}
		})
	}
}
