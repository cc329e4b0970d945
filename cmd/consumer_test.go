package cmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A module that imports the library sees the library and golang.org/x/sys
// in its build list, nothing else, and cannot import the assembly.
func TestConsumerModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a consumer module; not under -short")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for name, imports := range map[string][]string{
		"kernel":         {"github.com/lockstep/quorum/kernel"},
		"kernel+manager": {"github.com/lockstep/quorum/kernel", "github.com/lockstep/quorum/manager"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "go.mod", "module example.com/consumer\n\ngo 1.25.0\n\n"+
				"require github.com/lockstep/quorum v0.0.0-00010101000000-000000000000\n\n"+
				"replace github.com/lockstep/quorum => "+root+"\n")
			var src strings.Builder
			src.WriteString("package main\n\nimport (\n")
			for _, imp := range imports {
				src.WriteString("\t_ \"" + imp + "\"\n")
			}
			src.WriteString(")\n\nfunc main() {}\n")
			write(t, dir, "main.go", src.String())
			goIn(t, dir, "mod", "tidy")
			goIn(t, dir, "build", "./...")
			var modules []string
			for _, line := range strings.Split(strings.TrimSpace(goIn(t, dir, "list", "-m", "all")), "\n") {
				modules = append(modules, strings.Fields(line)[0])
			}
			want := []string{"example.com/consumer", "github.com/lockstep/quorum", "golang.org/x/sys"}
			if strings.Join(modules, " ") != strings.Join(want, " ") {
				t.Fatalf("go list -m all: %v, want %v", modules, want)
			}
		})
	}
	t.Run("internal", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "go.mod", "module example.com/consumer\n\ngo 1.25.0\n\n"+
			"require github.com/lockstep/quorum v0.0.0-00010101000000-000000000000\n\n"+
			"replace github.com/lockstep/quorum => "+root+"\n")
		write(t, dir, "main.go", "package main\n\nimport _ \"github.com/lockstep/quorum/kernel/internal/asm\"\n\nfunc main() {}\n")
		goIn(t, dir, "mod", "tidy", "-e")
		out, err := goCmd(dir, "build", "./...").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "use of internal package") {
			t.Fatalf("importing kernel/internal/asm from another module: err %v\n%s", err, out)
		}
	})
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goCmd is the go command on PATH (GOTOOLCHAIN passes through), outside the
// repository's workspace.
func goCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	return cmd
}

func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := goCmd(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
