package kernel

import "testing"

func TestChoose(t *testing.T) {
	if got := choose("").name; got != implementations[0].name {
		t.Errorf("no QUORUM_KERNEL: chose %q, want the fastest, %q", got, implementations[0].name)
	}
	for _, impl := range implementations {
		if got := choose(impl.name).name; got != impl.name {
			t.Errorf("QUORUM_KERNEL=%s: chose %q", impl.name, got)
		}
	}
	for _, name := range []string{"generic", "bogus", "AVX2", "sse2"} {
		want := "generic"
		if lookup(name).calculate != nil {
			want = name
		}
		if got := choose(name).name; got != want {
			t.Errorf("QUORUM_KERNEL=%s: chose %q, want %q", name, got, want)
		}
	}
	if implementations[len(implementations)-1].name != "generic" {
		t.Error("generic must always be available, last")
	}
}
