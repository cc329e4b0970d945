//go:build amd64 && linux

package kernel_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/kernel"
)

// reviewNoAVXChild marks the test binary's run under an emulated CPU.
const reviewNoAVXChild = "QUORUM_REVIEW_NOAVX_CHILD"

// TestReviewQuorumWithoutAVX runs this test binary under qemu-x86_64 on a
// CPU without AVX (Nehalem; its Celerons, Pentiums and Atoms, and VMs with
// the default qemu64 model, are such CPUs). There the assembly is not
// available, the kernel runs generic, and Quorum, Roles and Depths must
// still work: asm.One must reach Go without executing an AVX instruction.
func TestReviewQuorumWithoutAVX(t *testing.T) {
	if os.Getenv(reviewNoAVXChild) != "" {
		noAVXChild(t)
		return
	}
	if suite.RaceEnabled {
		t.Skip("the race detector's runtime does not run under qemu-user")
	}
	qemu, err := exec.LookPath("qemu-x86_64")
	if err != nil {
		t.Skip("no qemu-x86_64 to emulate a CPU without AVX")
	}
	for _, cpu := range []string{"Nehalem", "qemu64"} {
		cmd := exec.Command(qemu, "-cpu", cpu, os.Args[0], "-test.run=^TestReviewQuorumWithoutAVX$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), reviewNoAVXChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestReviewQuorumWithoutAVX") {
			first := string(out)
			if i := strings.Index(first, "\ngoroutine "); i > 0 {
				first = first[:i]
			}
			if i := strings.Index(string(out), "kernel/internal/asm.One("); i >= 0 {
				first += "\n... in asm.One"
			}
			t.Errorf("under qemu-x86_64 -cpu %s: %v\n%s", cpu, err, first)
		}
	}
}

func noAVXChild(t *testing.T) {
	t.Logf("implementation %s", kernel.Implementation())
	for _, c := range []struct {
		spec string
		want kernel.Result
	}{
		{"B/A B/A B/A", kernel.Result{Length: 3}},
		{"B/A C/B B/A", kernel.Result{Leader: 1, Length: 3, Repair: 2}},
		{"B/A C/A", kernel.Result{Forked: true}},
		{"C/B B/A X/Y", kernel.Result{Length: 2, Repair: 1}},
	} {
		vs := suite.Letters(c.spec)
		if r, err := kernel.Quorum(vs); err != nil || r != c.want {
			t.Errorf("Quorum(%s) = %+v, %v; want %+v", c.spec, r, err, c.want)
		}
		if r, err := kernel.Roles(vs, make([]kernel.Role, len(vs))); err != nil || r != c.want {
			t.Errorf("Roles(%s) = %+v, %v; want %+v", c.spec, r, err, c.want)
		}
		if r, err := kernel.Depths(vs, make([]uint8, len(vs))); err != nil || r != c.want {
			t.Errorf("Depths(%s) = %+v, %v; want %+v", c.spec, r, err, c.want)
		}
	}
	if _, err := kernel.Quorum(nil); err == nil {
		t.Error("Quorum(nil): no error")
	}
}
