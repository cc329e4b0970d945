// Command quorum formats, examines, checks, repairs and rebuilds replica
// sets: N files or block devices that hold the same objects, each object
// keeping a 32-byte vector (see package kernel), in relaxed lockstep. It is
// a thin layer of flags and reports over package replica, which does the
// work: superblocks, the redo journal, locking, reads, writes, scans,
// repairs and rebuilds.
//
//	quorum format  [flags] replica...  format a new set (alias init)
//	quorum examine [flags] replica...  print each replica's superblock
//	quorum scan    [flags] replica...  report every object's quorum; reads only
//	quorum repair  [flags] replica...  what a repair would write; --apply writes it
//	quorum rebuild [flags] replica...  fill a new drive (--replace INDEX) from the quorum
//	quorum write   [flags] replica...  write objects through the set (to practise on)
//
// Replicas are listed in index order; --missing LIST names the indices of
// absent ones (the paths listed are the others). The README's 3-drive
// mirror, drive c down for two writes, then a write cut short by a kill:
//
//	quorum format --size 64MiB a.img b.img c.img
//	quorum write --missing 2 --count 2 a.img b.img
//	quorum write --missing 2 --count 100 a.img b.img & sleep 1; kill -9 $!
//	quorum scan a.img b.img c.img             # exit 1: repairable
//	quorum repair --apply a.img b.img c.img   # exit 0: every replica agrees again
//
// scan opens the set read-only and streams object ranges as package
// replica's Scan finds them: agreed, lagging (with the replicas to write,
// in the library's repair order), pending (covered by a journal record an
// interrupted write or repair left: its copies may be torn, and repair
// --apply finishes it), differ (--verify-data: same vector, other bytes),
// split-brain, no quorum under --rule (majority, or byzantine), cyclic and
// conflicting vectors. The text report lists --ranges rows and never holds
// them in memory; --json prints one JSON document, also streamed, and
// errors as {"error": ..., "exit": N}.
//
// repair decides as scan does and, with --apply, opens the set for writing
// (which replays a pending journal record first) and scans with repair:
// each lagging object's leader is copied over the replicas that lag it or
// stand outside its chain, through the journal, so a crash at any point
// leaves every object old or new. --raw (scan, repair, write) opens files
// without superblocks with the geometry of --object-size and
// --vector-offset.
//
// Exit status (scan and repair; rebuild and write use 0, 2, 3, 4):
//
//	0  clean: every replica is present, active and at the same state on
//	   every object
//	1  repairable or degraded: some replicas lag or are outside a quorate
//	   chain, or an interrupted write or repair left a journal record
//	   (repair --apply fixes both), or a replica is missing or rebuilding
//	   (quorum rebuild)
//	2  unrepairable: some object is split-brain, has no quorum, holds
//	   cyclic or conflicting vectors or differing bytes, or the journal
//	   cannot be read (repair --apply still fixes the others); a write
//	   refused for want of a quorum
//	3  error: a replica missing, unreadable, not a regular file or block
//	   device, not of this set, stale, listed twice or out of order, in use
//	   by another process, or an I/O error
//	4  usage: unknown command or flag, a bad flag value, no replica or
//	   more than 255
//
// repair --apply exits 0 when every replica now agrees, 1 when the set is
// still degraded, 2 when objects it must not touch remain, 3 on an error
// (rerun it: every object is old or new, and the journal finishes the
// interrupted batch).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

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
  format   format a new set of replicas (alias init)
  examine  print each replica's superblock
  scan     report every object's quorum over the replicas (reads only)
  repair   copy each lagging object from its leader over the lagging and
           outside replicas; a dry run unless --apply
  rebuild  fill a new drive from the quorum (--replace INDEX), or resume
           an interrupted rebuild
  write    write objects through the set (a recognisable payload)
  version  print the version (also --version, with any command)

Replicas are listed in index order. Flags of scan, repair, rebuild, write:
  --missing LIST        indices of absent replicas (e.g. 2, or 0,3); the paths
                        listed are the others
  --rule RULE           majority (more than half of the replicas, the default)
                        or byzantine (more than two-thirds)
  --journal PATH        the journal, if it moved (raw mode: where it is kept)
  --json                print one JSON document instead of the text report
  --raw                 (scan, repair, write) files without superblocks, with
  --object-size SIZE    bytes per object (default 4096) and
  --vector-offset N     offset of each object's 32-byte vector (default 0)

Flags of scan and repair:
  --ranges N            object ranges listed in the text report (default 50; 0: all)
  --verify-data         compare the bytes of replicas at the leader's state
  --batch-size SIZE     bytes read per replica per batch (default 1MiB)
  --apply               (repair) write the repairs; without it nothing is written

Flags of format:  --object-size, --vector-offset, --size SIZE (bytes of objects
                  per replica, default 64MiB) or --objects N, --journal PATH,
                  --force (overwrite existing files), --json
Flags of rebuild: --replace INDEX (the path at INDEX is a new drive), --force
Flags of write:   --objects LIST (e.g. 0-4095,9; default all), --count N
                  (transactions per object, default 1)
Flags of examine: --json

SIZE takes a suffix: 4096, 4KiB, 64MiB, 1GiB (K, M, G mean the same).

Exit status: 0 clean, 1 repairable or degraded, 2 unrepairable (split-brain,
no quorum, cyclic or conflicting vectors, differing bytes; a write without
a quorum), 3 error (missing, unreadable or mismatched replicas, I/O), 4 usage.
`

// usageError is a bad command line: exit 4.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// codeError is an error with its exit status.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// reported: the error is already in the JSON document printed; exit with
// its code.
type reported struct{ code int }

func (e *reported) Error() string { return fmt.Sprintf("exit %d", e.code) }

// errHelp: -h or --help was asked for; the usage went to stdout.
var errHelp = errors.New("help")

// command is one subcommand: it returns its exit code, or an error.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)

var commands = map[string]command{
	"format":  cmdFormat,
	"init":    cmdFormat,
	"examine": cmdExamine,
	"scan": func(ctx context.Context, a []string, o, e io.Writer) (int, error) {
		return cmdScan(ctx, a, o, e, false)
	},
	"repair":  func(ctx context.Context, a []string, o, e io.Writer) (int, error) { return cmdScan(ctx, a, o, e, true) },
	"rebuild": cmdRebuild,
	"write":   cmdWrite,
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if args[0] == "version" || slices.Contains(args, "-version") || slices.Contains(args, "--version") {
		fmt.Fprintln(stdout, about.Version("quorum"))
		return exitClean
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitClean
	}
	asJSON := wantsJSON(args[1:])
	cmd, ok := commands[name]
	if !ok {
		return fail(stdout, stderr, asJSON, name, usagef("unknown command %q", name))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := cmd(ctx, args[1:], stdout, stderr)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usageText)
		return exitClean
	}
	if err == nil {
		return code
	}
	return fail(stdout, stderr, asJSON, name, err)
}

// wantsJSON reports whether --json is among the flags, so that even a
// usage error is a JSON document.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-json", "--json", "-json=true", "--json=true":
			return true
		}
	}
	return false
}

// fail prints err and returns its exit status: on stderr, or as a JSON
// document on stdout with --json.
func fail(stdout, stderr io.Writer, asJSON bool, name string, err error) int {
	var rep *reported
	if errors.As(err, &rep) {
		return rep.code
	}
	code := exitError
	var ue *usageError
	var ce *codeError
	switch {
	case errors.As(err, &ue):
		code = exitUsage
	case errors.As(err, &ce):
		code = ce.code
	}
	msg := operatorWords(err.Error())
	if asJSON {
		b, _ := json.Marshal(struct {
			Command string `json:"command"`
			Error   string `json:"error"`
			Exit    int    `json:"exit"`
		}{name, msg, code})
		fmt.Fprintf(stdout, "%s\n", b)
		return code
	}
	if code == exitUsage {
		if _, known := commands[name]; !known {
			fmt.Fprintf(stderr, "quorum: %s\n\n%s", msg, usageText)
			return code
		}
		fmt.Fprintf(stderr, "quorum %s: %s\n(quorum help: usage)\n", name, msg)
		return code
	}
	fmt.Fprintf(stderr, "quorum %s: %s\n", name, msg)
	return code
}

// operatorWords names the command's flags where the library's messages
// name its options.
var operatorWords = strings.NewReplacer(
	": file does not exist", ": no such file",
	"Options.Force", "--force",
	"Options.Journal", "--journal",
	": a new drive is formatted into the set with Replace (quorum rebuild)", "",
	"with Replace (quorum rebuild)", "with quorum rebuild --replace",
	": format it into the set again with Replace", ": format it into the set again",
	"with Replace", "with quorum rebuild --replace",
	", or Replace it", ", or replace it (quorum rebuild --replace)",
).Replace
