package manager

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt with the outputs of this build")

// TestData runs the scripts in testdata/: each block is a command, a line
// "----", and the output it must print, up to a blank line. Commands:
//
//	new [majority|byzantine] [weighted] [domains] [min=N] [tie=ID] [auto-tie] [two-node] [wait-all] NODE...
//	    (NODE: a@r1 domain, s* standby, x! failed, w~ witness, v:1500 weight)
//	add NODE | remove ID | fail ID | recover ID | suspect ID
//	reconfigure [RULE...] VOTER...   (VOTER: id or id:weight)
//	adjust [fail=K] [RULE...] VOTER...   (the K-th verification fails)
//	leave-joint | seen ID... | commit EPOCH | describe
//	retry EPOCH COMMAND...   (the command at an explicit epoch)
//	decide ID=ID0/ID1...   (one object's vectors, SPEC.md's letters)
//	quorum ID...   (whether these members, say one side of a partition, hold a quorum)
//
// go test -run TestData -rewrite rewrites the expected outputs.
func TestData(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var m *Manager
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		start := i + 1
		if start >= len(lines) || lines[start] != "----" {
			t.Fatalf("%s:%d: %q is not followed by ----", file, i+1, line)
		}
		end := start + 1
		for end < len(lines) && lines[end] != "" {
			end++
		}
		want := strings.Join(lines[start+1:end], "\n")
		got := strings.TrimRight(run(t, &m, strings.Fields(line)), "\n")
		if got != want && !*rewrite {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, i+1, line, got, want)
		}
		out.WriteString(line + "\n----\n" + got + "\n")
		i = end - 1
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run carries out one command and returns what it prints.
func run(t *testing.T, m **Manager, f []string) string {
	cmd, args := f[0], f[1:]
	if cmd == "new" {
		var rule Rule
		var nodes []Node
		for _, a := range args {
			if !ruleWord(&rule, a) {
				nodes = append(nodes, parseNode(a))
			}
		}
		mgr, err := New(nil, nodes, rule)
		if err != nil {
			return "error: " + err.Error()
		}
		*m = mgr
		return describeManager(mgr)
	}
	if *m == nil {
		t.Fatalf("%s before new", cmd)
	}
	mgr := *m
	switch cmd {
	case "describe":
		return describeManager(mgr)
	case "commit":
		if err := mgr.Committed(epochArg(t, args[0])); err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("committed through epoch %s", args[0])
	case "quorum":
		var ids []NodeID
		for _, a := range args {
			ids = append(ids, NodeID(a))
		}
		if mgr.Config().IsQuorum(ids) {
			return joinIDs(ids) + ": a quorum"
		}
		return joinIDs(ids) + ": no quorum"
	case "decide":
		var vectors [][]byte
		var replicas []NodeID
		for _, a := range args {
			id, spec, _ := strings.Cut(a, "=")
			replicas = append(replicas, NodeID(id))
			vectors = append(vectors, suite.Letters(spec)[0])
		}
		d, err := mgr.Decide(vectors, replicas)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%v, leader %s, repair %v (epoch %d)\n%s", d.Verdict, d.LeaderNode, d.Repair, d.Epoch, d.Reason)
	case "adjust":
		failAt, rest := 0, args
		if len(rest) > 0 && strings.HasPrefix(rest[0], "fail=") {
			failAt, _ = strconv.Atoi(strings.TrimPrefix(rest[0], "fail="))
			rest = rest[1:]
		}
		calls := 0
		adj := mgr.Adjust(0, proposal(rest), func(Config) error {
			if calls++; calls == failAt {
				return errors.New("the new quorum did not answer")
			}
			return nil
		})
		var steps []string
		for _, e := range adj.Steps {
			s := fmt.Sprintf("%d %s %s", e.Epoch, e.Op, e.Step)
			if e.Joint {
				s += " (joint)"
			}
			steps = append(steps, s)
		}
		if len(steps) == 0 {
			steps = []string{"none"}
		}
		return fmt.Sprintf("adjustment %d: %s\nsteps: %s\nafter: %s", adj.ID, answer(adj.Answer), strings.Join(steps, "; "), joinIDs(adj.After.IDs()))
	case "retry":
		c := change(t, args[1:])
		c.Epoch = epochArg(t, args[0])
		return answer(mgr.Apply(c))
	}
	return answer(mgr.Apply(change(t, f)))
}

// change is the Change a mutating command asks for.
func change(t *testing.T, f []string) Change {
	switch f[0] {
	case "add":
		return Change{Op: OpAdd, Node: parseNode(f[1])}
	case "remove":
		return Change{Op: OpRemove, ID: NodeID(f[1])}
	case "fail":
		return Change{Op: OpFail, ID: NodeID(f[1])}
	case "recover":
		return Change{Op: OpRecover, ID: NodeID(f[1])}
	case "suspect":
		return Change{Op: OpSuspect, ID: NodeID(f[1])}
	case "leave-joint":
		return Change{Op: OpLeaveJoint}
	case "reconfigure":
		return Change{Op: OpReconfigure, Proposal: proposal(f[1:])}
	case "seen":
		return Change{Op: OpAllSeen, Seen: ids(strings.Join(f[1:], " "))}
	}
	t.Fatalf("unknown command %q", f[0])
	return Change{}
}

func proposal(args []string) Proposal {
	var p Proposal
	for _, a := range args {
		if ruleWord(&p.Rule, a) {
			continue
		}
		id, w, _ := strings.Cut(a, ":")
		v := Vote{ID: NodeID(id)}
		if w != "" {
			n, _ := strconv.Atoi(w)
			v.Weight = Weight(n)
		}
		p.Voters = append(p.Voters, v)
	}
	return p
}

func ruleWord(r *Rule, a string) bool {
	switch {
	case a == "majority":
		r.Model = Crash
	case a == "byzantine":
		r.Model = Byzantine
	case a == "weighted":
		r.Weighted = true
	case a == "domains":
		r.Domains = true
	case strings.HasPrefix(a, "tie="):
		r.TieBreaker = NodeID(strings.TrimPrefix(a, "tie="))
	case a == "auto-tie":
		r.AutoTieBreaker = true
	case a == "two-node":
		r.TwoNode = true
	case a == "wait-all":
		r.WaitForAll = true
	case strings.HasPrefix(a, "min="):
		n, _ := strconv.Atoi(strings.TrimPrefix(a, "min="))
		r.MinVoters = n
	default:
		return false
	}
	return true
}

func epochArg(t *testing.T, s string) uint64 {
	e, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("epoch %q: %v", s, err)
	}
	return e
}

func answer(a Answer) string {
	s := fmt.Sprintf("%v, epoch %d", a.Status, a.Epoch)
	if a.Joint {
		s += " (joint)"
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}

// describeManager is the configuration's Describe and what waits for a
// commit.
func describeManager(m *Manager) string {
	s := strings.TrimRight(m.Config().Describe(), "\n")
	if e := m.Uncommitted(); e != 0 {
		s += fmt.Sprintf("\nepoch %d changed the quorum system and waits for Committed", e)
	}
	return s
}
