package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstep/quorum/manager"
)

// The testdata files are scripts in the style of etcd raft's datadriven
// tests: a command line, then "----" and the output it must print, up to a
// blank line. Lines starting with # are comments. QUORUM_REWRITE=1
// rewrites the expected outputs with what the commands print (review the
// diff before committing it).
//
// Commands (the clock starts at 00:00:00 and moves only with advance):
//
//	new [window=10s] [max-voters=n] [voters=a,b,...]
//	                           a manager whose voters are the list (default
//	                           a, the observing member, domain r1); a is
//	                           observed alive from the start
//	join id [domain=d] [cpu=n] [standby]
//	alive id | suspect id | fail id | leave id
//	                           the member is observed so from now
//	advance d                  move the clock
//	advise voters=a,b,... [weighted] | advise none
//	                           the advice Plan gets from now on
//	reconfigure voters=a,b,...  apply a reconfiguration directly (a joint
//	                           phase when old and new quorums might not
//	                           intersect), as a rollback may leave one
//	verify ok | verify fail    what the harness's replication answers
//	leaving                    this member leaves from now on
//	plan [dry]                 print the plan and (unless dry) carry it out,
//	                           printing every answer that is not ok
//	config                     print the configuration in force
func TestData(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScript(t, file) })
	}
}

// block is one command of a script and the output it expects.
type block struct {
	pos      string // file:line
	comments []string
	cmd      string
	want     string
	hasWant  bool
}

func parseScript(file string) ([]block, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	var blocks []block
	var comments []string
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t\r")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			comments = append(comments, line)
			continue
		case line == "----":
			return nil, fmt.Errorf("%s:%d: ---- without a command", file, i+1)
		}
		bl := block{pos: fmt.Sprintf("%s:%d", file, i+1), comments: comments, cmd: line}
		comments = nil
		if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "----" {
			bl.hasWant = true
			i += 2
			var out []string
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
				out = append(out, strings.TrimRight(lines[i], " \t\r"))
			}
			i-- // the blank line is kept, as a comment
			bl.want = strings.Join(out, "\n")
		}
		blocks = append(blocks, bl)
	}
	if len(comments) > 0 && len(blocks) > 0 {
		blocks = append(blocks, block{comments: comments})
	}
	return blocks, nil
}

func runScript(t *testing.T, file string) {
	blocks, err := parseScript(file)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{}
	var rewritten strings.Builder
	for _, bl := range blocks {
		for _, c := range bl.comments {
			rewritten.WriteString(c + "\n")
		}
		if bl.cmd == "" {
			continue
		}
		got, err := h.run(bl.cmd)
		if err != nil {
			t.Fatalf("%s: %s: %v", bl.pos, bl.cmd, err)
		}
		got = strings.TrimRight(got, "\n")
		rewritten.WriteString(bl.cmd + "\n")
		if got != "" || bl.hasWant {
			rewritten.WriteString("----\n" + got + "\n")
		}
		if os.Getenv("QUORUM_REWRITE") == "" && got != bl.want {
			t.Errorf("%s: %s:\ngot:\n%s\nwant:\n%s", bl.pos, bl.cmd, got, bl.want)
		}
	}
	if os.Getenv("QUORUM_REWRITE") != "" {
		out := strings.TrimRight(rewritten.String(), "\n") + "\n"
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a member's view, its manager and its options, driven by a
// script.
type harness struct {
	m          *manager.Manager
	members    map[manager.NodeID]Member
	now        time.Time
	opts       Options
	verifyFail bool
}

func (h *harness) verify(manager.Config) error {
	if h.verifyFail {
		return errors.New("replication refused the configuration")
	}
	return nil
}

func (h *harness) run(line string) (string, error) {
	f := strings.Fields(line)
	cmd, args := f[0], f[1:]
	kv := map[string]string{}
	var pos []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		} else {
			pos = append(pos, a)
		}
	}
	if cmd != "new" && h.m == nil {
		return "", errors.New("new first")
	}
	switch cmd {
	case "new":
		return "", h.init(kv)
	case "join":
		if len(pos) < 1 {
			return "", errors.New("join needs an id")
		}
		m := Member{ID: manager.NodeID(pos[0]), State: Alive, Since: h.now, Domain: kv["domain"], Standby: slices.Contains(pos[1:], "standby")}
		if c, ok := kv["cpu"]; ok {
			n, err := strconv.Atoi(c)
			if err != nil {
				return "", err
			}
			m.Capabilities.CPU = n
		}
		h.members[m.ID] = m
	case "alive", "suspect", "fail", "leave":
		if len(pos) != 1 {
			return "", fmt.Errorf("%s needs one id", cmd)
		}
		m, ok := h.members[manager.NodeID(pos[0])]
		if !ok {
			return "", fmt.Errorf("%s never joined", pos[0])
		}
		m.State = map[string]State{"alive": Alive, "suspect": Suspect, "fail": Dead, "leave": Left}[cmd]
		m.Since = h.now
		h.members[m.ID] = m
	case "advance":
		if len(pos) != 1 {
			return "", errors.New("advance needs a duration")
		}
		d, err := time.ParseDuration(pos[0])
		if err != nil {
			return "", err
		}
		h.now = h.now.Add(d)
	case "advise":
		if slices.Contains(pos, "none") {
			h.opts.Advice = nil
			break
		}
		rule := h.m.Config().Rule
		rule.Weighted = slices.Contains(pos, "weighted")
		h.opts.Advice = &Advice{Strategy: "test", Proposal: manager.Proposal{Rule: rule, Voters: votes(kv["voters"])}}
	case "reconfigure":
		ans := h.m.Apply(manager.Change{Op: manager.OpReconfigure, Proposal: manager.Proposal{Rule: h.m.Config().Rule, Voters: votes(kv["voters"])}})
		return fmt.Sprintf("%v joint=%v", ans.Status, ans.Joint), nil
	case "verify":
		h.verifyFail = slices.Contains(pos, "fail")
	case "leaving":
		h.opts.Leaving = true
	case "plan":
		return h.plan(slices.Contains(pos, "dry")), nil
	case "config":
		return describe(h.m.Config()), nil
	default:
		return "", fmt.Errorf("unknown command %q", cmd)
	}
	return "", nil
}

func votes(list string) []manager.Vote {
	var vs []manager.Vote
	for _, id := range strings.Split(list, ",") {
		if id != "" {
			vs = append(vs, manager.Vote{ID: manager.NodeID(id)})
		}
	}
	return vs
}

func (h *harness) init(kv map[string]string) error {
	h.now = t0
	h.opts = Options{Self: "a", Window: 10 * time.Second, Started: t0}
	if w, ok := kv["window"]; ok {
		d, err := time.ParseDuration(w)
		if err != nil {
			return err
		}
		h.opts.Window = d
	}
	if mv, ok := kv["max-voters"]; ok {
		n, err := strconv.Atoi(mv)
		if err != nil {
			return err
		}
		h.opts.MaxVoters = n
	}
	self := Member{ID: "a", State: Alive, Since: t0, Domain: "r1"}
	nodes := []manager.Node{{ID: "a", Domain: "r1"}}
	if v, ok := kv["voters"]; ok {
		nodes = nil
		for _, vote := range votes(v) {
			nodes = append(nodes, manager.Node{ID: vote.ID})
		}
	}
	m, err := manager.New(nil, nodes, manager.Rule{})
	if err != nil {
		return err
	}
	h.m = m
	h.members = map[manager.NodeID]Member{"a": self}
	return nil
}

// plan prints the plan and carries it out as a local keeper does.
func (h *harness) plan(dry bool) string {
	var members []Member
	for _, m := range h.members {
		members = append(members, m)
	}
	h.opts.Attempts = slices.DeleteFunc(h.opts.Attempts, func(a Attempt) bool { return !h.now.Before(a.At.Add(h.opts.Window)) })
	res := Plan(h.m.Config(), members, h.now, h.opts)
	var b strings.Builder
	for _, a := range res.Actions {
		b.WriteString(a.String() + "\n")
		if dry {
			continue
		}
		ans := h.apply(a)
		if a.VoterChange() {
			h.opts.Attempts = append(h.opts.Attempts, Attempt{Key: a.Key, At: h.now, Failed: ans.Status != manager.OK})
		}
		if ans.Status != manager.OK {
			fmt.Fprintf(&b, "  -> %v: %s\n", ans.Status, ans.Reason)
		}
	}
	for _, hd := range res.Held {
		b.WriteString("held: " + hd.String() + "\n")
	}
	if len(res.Actions) == 0 && len(res.Held) == 0 {
		b.WriteString("nothing to do\n")
	}
	if !res.Next.IsZero() {
		b.WriteString("next: " + stamp(res.Next) + "\n")
	}
	return b.String()
}

func (h *harness) apply(a Action) manager.Answer {
	if e := h.m.Uncommitted(); e != 0 && a.VoterChange() {
		// A rollback left a change of the voters nobody verified.
		if err := h.verify(h.m.Config()); err != nil {
			return manager.Answer{Status: manager.Refused, Reason: err.Error()}
		}
		h.m.Committed(e)
	}
	if a.Proposal != nil {
		return h.m.Adjust(0, *a.Proposal, h.verify).Answer
	}
	if a.Change.Op == manager.OpLeaveJoint {
		cfg := h.m.Config()
		if err := h.verify(cfg); err != nil {
			return manager.Answer{Status: manager.Refused, Reason: err.Error()}
		}
		h.m.Committed(cfg.Epoch)
	}
	ans := h.m.Apply(a.Change)
	if ans.Status == manager.OK {
		h.m.Committed(ans.Epoch)
	}
	return ans
}

// describe is a configuration in one line: epoch, voters, standbys and
// every member not active.
func describe(cfg manager.Config) string {
	var standbys, health []string
	for _, n := range cfg.Nodes {
		if n.Standby {
			standbys = append(standbys, string(n.ID))
		}
		if n.State != manager.Active {
			health = append(health, fmt.Sprintf("%s %v", n.ID, n.State))
		}
	}
	s := fmt.Sprintf("epoch %d voters %v standbys %v", cfg.Epoch, cfg.Quorum().IDs(), standbys)
	if len(health) > 0 {
		s += "; " + strings.Join(health, ", ")
	}
	if cfg.Joint() {
		s += "; joint"
	}
	return s
}
