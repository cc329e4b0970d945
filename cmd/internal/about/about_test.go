package about

import (
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

func TestVersion(t *testing.T) {
	v := Version("quorum")
	if !strings.HasPrefix(v, "quorum ") || !strings.Contains(v, runtime.Version()) {
		t.Fatalf("Version = %q, want the command and %s", v, runtime.Version())
	}
}

func TestCPU(t *testing.T) {
	c := CPU()
	if cpuid.CPU.VendorString != "" && !strings.Contains(c, "family") {
		t.Fatalf("CPU = %q, want the family and model", c)
	}
	if !strings.Contains(c, "logical CPUs") {
		t.Fatalf("CPU = %q, want the CPU count", c)
	}
}

func TestMicroarchitecture(t *testing.T) {
	for _, c := range []struct {
		vendor        cpuid.Vendor
		family, model int
		want          string
	}{
		{cpuid.AMD, 0x17, 0x01, "Zen or Zen+"}, // EPYC 7001 (Naples)
		{cpuid.AMD, 0x17, 0x31, "Zen 2"},       // EPYC 7002 (Rome)
		{cpuid.AMD, 0x19, 0x01, "Zen 3"},       // EPYC 7003 (Milan)
		{cpuid.AMD, 0x19, 0x11, "Zen 4"},       // EPYC 9004 (Genoa)
		{cpuid.AMD, 0x19, 0x21, "Zen 3"},       // Ryzen 5000 (Vermeer)
		{cpuid.AMD, 0x19, 0x61, "Zen 4"},       // Ryzen 7000 (Raphael)
		{cpuid.Intel, 6, 0x55, "Skylake-SP"},
		{cpuid.Intel, 6, 0x6a, "Ice Lake-SP"},
		{cpuid.Intel, 6, 0x01, ""},
		{cpuid.VIA, 6, 0x0f, ""},
	} {
		if got := Microarchitecture(c.vendor, c.family, c.model); !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("Microarchitecture(%v, %#x, %#x) = %q, want %q", c.vendor, c.family, c.model, got, c.want)
		}
	}
}

// The add chain runs and its count is right; the clock is positive where
// it can be measured (its value is the machine's, never asserted).
func TestClock(t *testing.T) {
	if haveAddChain && addChain(3) != 30 {
		t.Fatalf("addChain(3) = %d, want 30", addChain(3))
	}
	if ghz := Clock(); haveAddChain != (ghz > 0) {
		t.Fatalf("Clock() = %v on %s", ghz, runtime.GOARCH)
	}
}

func TestArmCore(t *testing.T) {
	graviton2 := "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\nprocessor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
	for _, c := range []struct{ cpuinfo, want string }{
		{graviton2, "ARM Neoverse N1 (implementer 0x41 part 0xd0c)"},
		{"CPU implementer : 0x41\nCPU part : 0xfff\n", "ARM core (implementer 0x41 part 0xfff)"},
		{"CPU implementer : 0x99\nCPU part : 0x001\n", "(implementer 0x99 part 0x001)"},
		{"model name : AMD EPYC\ncpu family : 25\n", ""}, // an x86 host's (qemu-user shows the host's)
		{"", ""},
	} {
		if got := armCore(c.cpuinfo); got != c.want {
			t.Errorf("armCore(%q) = %q, want %q", c.cpuinfo, got, c.want)
		}
	}
}
