// Command quorum checks and repairs a set of replica files with the
// relaxed-lockstep quorum kernel: N files of equal size (the drives of a
// mirror, the copies of a volume), each a whole number of objects that keep
// a 32-byte vector at the same offset.
//
//	quorum scan   [flags] replica...   report every object's quorum; reads only
//	quorum repair [flags] replica...   what a repair would write; --apply writes it
//	quorum init   [flags] replica...   create replica files that agree on every object
//	quorum write  [flags] replica...   apply a transaction to only these replicas
//
// The 3-drive mirror of the README, one drive down and then a write cut
// short by a power failure, reproduced in four commands, then repaired:
//
//	quorum init --size 64MiB a.img b.img c.img
//	quorum write --count 2 a.img b.img          # drive c is down: two writes miss it
//	quorum write --objects 0-4095 a.img         # the next write reaches only a
//	quorum scan a.img b.img c.img               # exit 1: repairable
//	quorum repair --apply a.img b.img c.img     # exit 0: every replica agrees again
//
// scan reads the replicas in large aligned batches (--batch-size per
// replica), runs kernel.Calculate on each batch, and reports object ranges:
// agreed, to repair (with the lagging replicas and those outside the
// winning chain), split-brain, no quorum under the rule (--rule: majority
// by default, or byzantine), and cyclic or conflicting vectors. A bad
// object never hides the rest: the batch resumes after it. --json prints
// one JSON document instead of the text report. Decisions are the
// manager's (manager.Config.Decide), through decider.decide.
//
// repair decides every object as scan does and, with --apply, copies the
// leader's whole object over each lagging or outside replica of every
// quorate object (never split-brain, no-quorum or bad objects) in the
// manager's order, through a redo journal next to the first replica, and
// fsyncs everything before it reports. See repair.go for why a crash at
// any point leaves every object old or new.
//
// Exit status (scan, and repair without --apply):
//
//	0  clean: every replica is at the same state on every object
//	1  repairable: some replicas lag or are outside a quorate chain (or an
//	   interrupted repair left a journal); repair --apply fixes them all
//	2  unrepairable: some object is split-brain, has no quorum, or holds
//	   cyclic or conflicting vectors (repair --apply still fixes the others)
//	3  error: a replica is missing, unreadable, a directory or not a regular
//	   file, the sizes differ or are not whole objects, a file is listed
//	   twice, or an I/O error; nothing was written
//	4  usage: unknown command or flag, a bad flag value (--vector-offset out
//	   of range, ...), no replica or more than 255
//
// repair --apply exits 0 when every replica now agrees, 2 when objects it
// must not touch remain, 3 on an error (rerun it: every object is old or
// new, and the journal finishes the interrupted batch).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/lockstep/quorum/cmd/internal/about"
)

// Exit codes.
const (
	exitClean        = 0
	exitRepairable   = 1
	exitUnrepairable = 2
	exitError        = 3
	exitUsage        = 4
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `usage: quorum <command> [flags] replica...

Commands:
  scan     report every object's quorum over the replicas (reads only)
  repair   copy each quorate object from its leader over the lagging and
           outside replicas; a dry run unless --apply
  init     create replica files that agree on every object
  write    apply a transaction to the listed replicas only (a write that
           reached only these drives)
  version  print the version (also --version, with any command)

Flags of scan and repair:
  --object-size SIZE    bytes per object, at least 32 (default 4096)
  --vector-offset N     offset of each object's 32-byte vector (default 0)
  --json                print one JSON document instead of the text report
  --ranges N            object ranges listed in the text report (default 50; 0: all)
  --rule RULE           when a chain is a quorum: majority (more than half of the
                        replicas, the default) or byzantine (more than two-thirds)
  --batch-size SIZE     bytes read per replica per batch (default 2MiB)
  --apply               (repair) write the repairs; without it nothing is written

Flags of init:   --object-size, --vector-offset, --size SIZE (default 64MiB)
                 or --objects N, --force (overwrite existing files)
Flags of write:  --object-size, --vector-offset, --objects LIST (e.g. 0-4095,9;
                 default all), --count N (transactions, default 1)

SIZE takes a suffix: 4096, 4KiB, 64MiB, 1GiB (K, M, G mean the same).

Exit status: 0 clean, 1 repairable, 2 unrepairable (split-brain, no
quorum, cyclic or conflicting vectors), 3 error (missing, unreadable or
mismatched replicas, I/O; nothing written), 4 usage.
`

// usageError is a bad command line: exit 4.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelp: -h or --help was asked for; the usage went to stdout.
var errHelp = errors.New("help")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if args[0] == "version" || slices.Contains(args, "-version") || slices.Contains(args, "--version") {
		fmt.Fprintln(stdout, about.Version("quorum"))
		return exitClean
	}
	var (
		code int
		err  error
	)
	cmd := args[0]
	switch cmd {
	case "scan":
		code, err = cmdScan(args[1:], stdout, stderr, false)
	case "repair":
		code, err = cmdScan(args[1:], stdout, stderr, true)
	case "init":
		code, err = cmdInit(args[1:], stdout, stderr)
	case "write":
		code, err = cmdWrite(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitClean
	default:
		fmt.Fprintf(stderr, "quorum: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usageText)
		return exitClean
	}
	var ue *usageError
	switch {
	case err == nil:
		return code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "quorum %s: %v\n(quorum help: usage)\n", cmd, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "quorum %s: %v\n", cmd, err)
		if code == 0 {
			code = exitError
		}
		return code
	}
}
