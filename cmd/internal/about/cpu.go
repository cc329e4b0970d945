package about

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// CPU names the processor: its brand string, vendor, family and model, the
// microarchitecture where the family and model identify one, and the
// logical CPUs Go may use, e.g. "AMD EPYC 9R14 (AuthenticAMD family 25
// model 17, Zen 4), 2 logical CPUs".
func CPU() string {
	c := cpuid.CPU
	brand := c.BrandName
	if brand == "" {
		brand = "unknown CPU"
	}
	var id string
	if c.VendorString != "" {
		id = fmt.Sprintf("%s family %d model %d", c.VendorString, c.Family, c.Model)
		if u := Microarchitecture(c.VendorID, c.Family, c.Model); u != "" {
			id += ", " + u
		}
	} else if core := armCore(readCPUInfo()); core != "" {
		id = runtime.GOARCH + ", " + core
	} else {
		id = runtime.GOARCH
	}
	return fmt.Sprintf("%s (%s), %d logical CPUs", brand, id, runtime.NumCPU())
}

// readCPUInfo is Linux's /proc/cpuinfo, or "" elsewhere.
func readCPUInfo() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	b, _ := os.ReadFile("/proc/cpuinfo")
	return string(b)
}

// armCore names an arm64 core from the first "CPU implementer" and "CPU
// part" of a /proc/cpuinfo (the MIDR fields Linux shows), e.g. "ARM
// Neoverse N1 (implementer 0x41 part 0xd0c)": the cores of the common
// cloud machines (Graviton 2-4 are Neoverse N1, V1 and V2). "" if cpuinfo
// has no such fields.
func armCore(cpuinfo string) string {
	var implementer, part string
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k, v = strings.TrimSpace(k), strings.TrimSpace(v); k {
		case "CPU implementer":
			if implementer == "" {
				implementer = v
			}
		case "CPU part":
			if part == "" {
				part = v
			}
		}
	}
	if implementer == "" || part == "" {
		return ""
	}
	name := armParts[implementer+"/"+part]
	vendor := armImplementers[implementer]
	switch {
	case name != "":
		name = vendor + " " + name + " "
	case vendor != "":
		name = vendor + " core "
	}
	return fmt.Sprintf("%s(implementer %s part %s)", name, implementer, part)
}

var armImplementers = map[string]string{"0x41": "ARM", "0x61": "Apple", "0xc0": "Ampere", "0x51": "Qualcomm", "0x48": "HiSilicon", "0x46": "Fujitsu", "0x4e": "NVIDIA"}

var armParts = map[string]string{
	"0x41/0xd03": "Cortex-A53", "0x41/0xd05": "Cortex-A55", "0x41/0xd07": "Cortex-A57", "0x41/0xd08": "Cortex-A72",
	"0x41/0xd0b": "Cortex-A76", "0x41/0xd0c": "Neoverse N1", "0x41/0xd0d": "Cortex-A77", "0x41/0xd40": "Neoverse V1",
	"0x41/0xd41": "Cortex-A78", "0x41/0xd44": "Cortex-X1", "0x41/0xd46": "Cortex-A510", "0x41/0xd47": "Cortex-A710",
	"0x41/0xd48": "Cortex-X2", "0x41/0xd49": "Neoverse N2", "0x41/0xd4f": "Neoverse V2", "0x41/0xd84": "Neoverse V3",
	"0x41/0xd8e": "Neoverse N3", "0xc0/0xac3": "AmpereOne", "0x46/0x001": "A64FX",
}

// Microarchitecture names the core design of an x86 family and model, for
// the designs whose vector units differ in ways that move the kernel's
// speed (split or full-width 256-bit units, AVX-512). "" where unknown.
func Microarchitecture(vendor cpuid.Vendor, family, model int) string {
	switch vendor {
	case cpuid.AMD, cpuid.Hygon:
		return amdCore(family, model)
	case cpuid.Intel:
		return intelCore(family, model)
	}
	return ""
}

func amdCore(family, model int) string {
	switch {
	case family == 0x17 && model < 0x30:
		return "Zen or Zen+ (256-bit operations split in two)"
	case family == 0x17:
		return "Zen 2"
	case family == 0x19 && (model < 0x10 || model >= 0x20 && model < 0x60):
		return "Zen 3"
	case family == 0x19:
		return "Zen 4"
	case family == 0x1a:
		return "Zen 5"
	case family == 0x18:
		return "Dhyana (Zen)"
	}
	return ""
}

// intelCore covers family 6's server and recent client cores.
func intelCore(family, model int) string {
	if family != 6 {
		return ""
	}
	switch model {
	case 0x3c, 0x3f, 0x45, 0x46:
		return "Haswell"
	case 0x3d, 0x47, 0x4f, 0x56:
		return "Broadwell"
	case 0x4e, 0x5e, 0x8e, 0x9e, 0xa5, 0xa6:
		return "Skylake client family"
	case 0x55:
		return "Skylake-SP or Cascade Lake (AVX-512)"
	case 0x6a, 0x6c:
		return "Ice Lake-SP (AVX-512)"
	case 0x7d, 0x7e:
		return "Ice Lake client"
	case 0x8c, 0x8d:
		return "Tiger Lake"
	case 0x8f:
		return "Sapphire Rapids (AVX-512)"
	case 0xcf:
		return "Emerald Rapids (AVX-512)"
	case 0xad, 0xae:
		return "Granite Rapids (AVX-512)"
	case 0x97, 0x9a, 0xb7, 0xba, 0xbf:
		return "Alder Lake or Raptor Lake (hybrid)"
	}
	return ""
}
