package kernel

import "os"

// rangeFunc decides objects [from, to) of arguments that validate accepted.
type rangeFunc func(sources [][]byte, vectorOffset, objectSize, from, to int, results []Result, target []byte) error

// implementation is one way to run Calculate.
type implementation struct {
	name      string
	calculate rangeFunc
}

// implementations lists what this build and CPU can run, fastest first.
var implementations = append(asmImplementations(), implementation{name: "generic", calculate: calculateGeneric})

// EnvKernel names the environment variable read once at start-up to force an
// implementation: "generic" rules the assembly out; the name of an available
// kernel selects it. A name this machine cannot run selects generic, which is
// always correct.
const EnvKernel = "QUORUM_KERNEL"

// active is the implementation Calculate runs, chosen once at start-up.
var active = choose(os.Getenv(EnvKernel))

func choose(name string) implementation {
	if name == "" {
		return implementations[0]
	}
	if impl := lookup(name); impl.calculate != nil {
		return impl
	}
	return lookup("generic")
}

func lookup(name string) implementation {
	for _, impl := range implementations {
		if impl.name == name {
			return impl
		}
	}
	return implementation{}
}

// Implementation names the implementation Calculate runs: "avx2", "neon" or
// "generic".
func Implementation() string { return active.name }

// Implementations names every implementation this build and CPU can run,
// fastest first; each can be called through CalculateWith.
func Implementations() []string {
	names := make([]string, len(implementations))
	for i, impl := range implementations {
		names[i] = impl.name
	}
	return names
}

// CalculateWith is Calculate run by the named implementation, for tests,
// benchmarks and comparisons. It refuses a name not in Implementations.
func CalculateWith(name string, sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	impl := lookup(name)
	if impl.calculate == nil {
		return invalid("implementation %q is not available here (have %v)", name, Implementations())
	}
	return impl.run(sources, vectorOffset, objectSize, results, target)
}

// run validates the arguments and decides every object.
func (impl implementation) run(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	objects, err := validate(sources, vectorOffset, objectSize, results, target)
	if err != nil {
		return err
	}
	return impl.calculate(sources, vectorOffset, objectSize, 0, objects, results, target)
}
