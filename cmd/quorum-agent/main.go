// Command quorum-agent runs one member of a cluster: a hashicorp/memberlist
// member (SWIM gossip failure detection) whose view keeps a quorum manager
// in step (package cluster/memberlist), or with --raft a configuration
// replicated through raft (package cluster/consensus, glued by package
// cluster/agent). Started without arguments it prints
// its usage and exits 2; --version prints the version. It prints the membership, the
// recommended quorum and its reasoning whenever they change, and serves
// the manager's metrics over HTTP.
//
//	quorum-agent --bind 127.0.0.1:7946 --domain rack-a
//	quorum-agent --bind 127.0.0.1:7947 --join 127.0.0.1:7946 --domain rack-b
//	quorum-agent --bind 127.0.0.1:7948 --join 127.0.0.1:7946 --domain rack-c
//
// Flags:
//
//	--bind host:port     memberlist address, UDP and TCP (default 127.0.0.1:7946;
//	                     port 0: any free one)
//	--join host:port,... members to join; retried while no other member is alive
//	--name name          this member's name (default <hostname>-<port>)
//	--domain name        failure domain (rack, zone)
//	--cpu n, --memory-mb n, --bandwidth-mbps n
//	                     capabilities, for weights (0: unknown)
//	--standby            keep a replica but vote only to replace a failed voter
//	--http host:port     serve /metrics (Prometheus text format), /debug/vars
//	                     (expvar: the manager's metrics under
//	                     lockstep_quorum_manager, raft's under
//	                     lockstep_quorum_raft), /status (JSON) and / (text),
//	                     raft's state beside the configuration with --raft;
//	                     "" disables (default 127.0.0.1:<port+1000>, or any
//	                     free port when --bind's is 0)
//	--window d           how long a failure, departure or join must hold
//	                     before the voters change (default 10s)
//	--max-voters n       promote joined members up to n voters (0: no cap)
//	--rule majority|byzantine, --weighted, --domains-rule
//	                     the quorum rule of a new configuration
//	--state file         persist the configuration (a restart comes back with it);
//	                     not with --raft
//	--raft host:port     replicate the configuration through raft (package
//	                     cluster/consensus), listening there (TCP); only raft's
//	                     leader proposes changes
//	--data-dir dir       raft's log and snapshots (required with --raft)
//	--bootstrap-expect n with --raft: bootstrap once exactly n members (this one
//	                     included) are known through memberlist, all voters;
//	                     0 (default): join a running cluster. A member
//	                     restarted with data never bootstraps.
//	--profile local|lan|wan
//	                     memberlist's timings, and raft's with --raft (local:
//	                     250ms heartbeats; lan: raft's defaults; wan: 3 times
//	                     those) (default lan)
//	--key-file file      encrypt gossip (AES-GCM) with the base64 key of 16, 24
//	                     or 32 bytes in file: the same on every member
//	                     (head -c 32 /dev/urandom | base64 > key)
//	--verbose            memberlist's debug log too
//
// SIGINT or SIGTERM leaves gracefully: peers remove this member once the
// window has passed, rather than count it failed. The HTTP listener serves
// the process's expvar variables (command line and memory statistics
// included): keep it on loopback unless that is meant to be public.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	ml "github.com/hashicorp/memberlist"
	qagent "github.com/lockstep/quorum/cluster/agent"
	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/cmd/internal/about"
	"github.com/lockstep/quorum/manager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		if errors.Is(err, errNoArguments) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "quorum-agent:", err)
		os.Exit(1)
	}
}

// errNoArguments: the agent was started bare, so it printed its usage
// rather than start a daemon the caller may not have meant.
var errNoArguments = errors.New("no arguments")

type config struct {
	bind, join, name, domain, http, rule, state, profile, keyFile string
	raft, dataDir                                                 string
	cpu, memoryMB, bandwidthMbps, maxVoters, bootstrapExpect      int
	standby, weighted, domainsRule, verbose                       bool
	window                                                        time.Duration
}

func parse(args []string, stdout, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("quorum-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: quorum-agent --bind host:port [--join host:port,...] [flags]\n\n")
		fs.PrintDefaults()
	}
	version := fs.Bool("version", false, "print the version and exit")
	fs.StringVar(&c.bind, "bind", "127.0.0.1:7946", "memberlist `address` (UDP and TCP)")
	fs.StringVar(&c.join, "join", "", "comma-separated `addresses` of members to join")
	fs.StringVar(&c.name, "name", "", "this member's `name` (default <hostname>-<port>)")
	fs.StringVar(&c.domain, "domain", "", "failure `domain` (rack, zone)")
	fs.IntVar(&c.cpu, "cpu", 0, "CPU `cores` (0: unknown)")
	fs.IntVar(&c.memoryMB, "memory-mb", 0, "memory in `MB` (0: unknown)")
	fs.IntVar(&c.bandwidthMbps, "bandwidth-mbps", 0, "bandwidth in `Mbps` (0: unknown)")
	fs.BoolVar(&c.standby, "standby", false, "vote only to replace a failed voter")
	fs.StringVar(&c.http, "http", "auto", "serve metrics at `address` (\"\" disables; auto: 127.0.0.1:<port+1000>)")
	fs.DurationVar(&c.window, "window", qml.DefaultWindow, "how long a failure, departure or join must hold before the voters change")
	fs.IntVar(&c.maxVoters, "max-voters", 0, "promote joined members up to `n` voters (0: no cap)")
	fs.StringVar(&c.rule, "rule", "majority", "quorum rule of a new configuration: majority or byzantine")
	fs.BoolVar(&c.weighted, "weighted", false, "weigh votes by capabilities and latency")
	fs.BoolVar(&c.domainsRule, "domains-rule", false, "also require a majority in a majority of failure domains")
	fs.StringVar(&c.state, "state", "", "persist the configuration in `file`")
	fs.StringVar(&c.raft, "raft", "", "replicate the configuration through raft, listening at `host:port`")
	fs.StringVar(&c.dataDir, "data-dir", "", "raft's data `directory` (required with --raft)")
	fs.IntVar(&c.bootstrapExpect, "bootstrap-expect", 0, "with --raft: bootstrap once exactly `n` members are known (0: join a running cluster)")
	fs.StringVar(&c.profile, "profile", "lan", "memberlist (and raft) timings: local, lan or wan")
	fs.StringVar(&c.keyFile, "key-file", "", "encrypt gossip with the base64 AES key (16, 24 or 32 bytes) in `file`")
	fs.BoolVar(&c.verbose, "verbose", false, "show memberlist's debug log")
	if len(args) == 0 {
		fs.Usage()
		return c, errNoArguments
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *version {
		fmt.Fprintln(stdout, about.Version("quorum-agent"))
		return c, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.checkRaft(fs)
}

// checkRaft refuses the flags that contradict each other with or without
// --raft: each is refused by name rather than ignored.
func (c config) checkRaft(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.raft == "" {
		for _, name := range []string{"data-dir", "bootstrap-expect"} {
			if set[name] {
				return fmt.Errorf("--%s: only with --raft", name)
			}
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(c.raft); err != nil {
		return fmt.Errorf("--raft: %v", err)
	}
	switch {
	case c.state != "":
		return errors.New("--state: not with --raft: the replicated configuration is kept in --data-dir")
	case c.dataDir == "":
		return errors.New("--data-dir: required with --raft")
	case c.bootstrapExpect < 0:
		return fmt.Errorf("--bootstrap-expect: want 0 or more, got %d", c.bootstrapExpect)
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	host, portStr, err := net.SplitHostPort(c.bind)
	if err != nil {
		return fmt.Errorf("--bind: %v", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("--bind: bad port %q", portStr)
	}
	if c.name == "" {
		h, _ := os.Hostname()
		c.name = fmt.Sprintf("%s-%d", cmpOr(h, "agent"), port)
	}
	if c.http == "auto" {
		switch {
		case port == 0:
			c.http = "127.0.0.1:0"
		case port+1000 <= 65535:
			c.http = net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1000))
		default:
			c.http = ""
		}
	}

	var conf *ml.Config
	switch c.profile {
	case "local":
		conf = ml.DefaultLocalConfig()
	case "lan":
		conf = ml.DefaultLANConfig()
	case "wan":
		conf = ml.DefaultWANConfig()
	default:
		return fmt.Errorf("--profile: want local, lan or wan, got %q", c.profile)
	}
	conf.Name = c.name
	conf.BindAddr, conf.BindPort = host, port
	conf.AdvertisePort = port
	conf.Logger = log.New(&logFilter{w: stderr, verbose: c.verbose}, "", log.Ltime)
	if c.keyFile != "" {
		b, err := os.ReadFile(c.keyFile)
		if err != nil {
			return fmt.Errorf("--key-file: %v", err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || (len(key) != 16 && len(key) != 24 && len(key) != 32) {
			return fmt.Errorf("--key-file: want the base64 of 16, 24 or 32 bytes")
		}
		conf.SecretKey = key
	}

	rule := manager.Rule{Weighted: c.weighted, Domains: c.domainsRule}
	switch c.rule {
	case "majority":
	case "byzantine":
		rule.Model = manager.Byzantine
	default:
		return fmt.Errorf("--rule: want majority or byzantine, got %q", c.rule)
	}
	out := &printer{w: stdout}
	opts := qml.Options{
		Meta: qml.Meta{
			Domain:       c.domain,
			Capabilities: manager.Capabilities{CPU: c.cpu, MemoryMB: c.memoryMB, BandwidthMbps: c.bandwidthMbps},
			Standby:      c.standby,
		},
		Rule:      rule,
		Window:    c.window,
		MaxVoters: c.maxVoters,
		Logf:      func(format string, args ...any) { fmt.Fprintf(stderr, "agent: "+format+"\n", args...) },
		// OnChange runs on the agent's goroutine: the printer needs the
		// agent for the manager's Describe, so it is handed over once
		// created.
		OnChange: out.change,
	}
	var (
		agent  *qml.Agent
		node   *consensus.Node // nil without --raft
		member *qagent.Member
	)
	if c.raft != "" {
		if member, err = startReplicated(c, conf, opts, out, stderr); err != nil {
			return err
		}
		agent, node = member.Agent, member.Node
	} else {
		if c.state != "" {
			if opts.Store, err = manager.NewStore(c.state); err != nil {
				return err
			}
		}
		if agent, err = qml.Create(conf, opts); err != nil {
			return err
		}
	}
	// Stops what was started, gracefully (leave) or not.
	stopAll := func(leave bool) error {
		switch {
		case member != nil && leave:
			return member.Close()
		case member != nil:
			return member.Shutdown()
		case leave:
			return agent.Close()
		default:
			return agent.Shutdown()
		}
	}
	fmt.Fprintf(stdout, "%s: member %s at %s, domain %q; a silent member is declared failed within %v (3 members), the voters change after %v\n",
		stamp(time.Now()), c.name, agent.Memberlist().LocalNode().Address(), c.domain,
		qml.FailureDetectionTime(conf, 3).Round(100*time.Millisecond), c.window)
	if node != nil {
		fmt.Fprintf(stdout, "%s: raft at %s, data in %s; %s\n", stamp(time.Now()), node.Addr(), c.dataDir, bootstrapPlan(node, c.bootstrapExpect))
	}
	out.setAgent(agent, node)

	metrics := newSource(agent, node)
	if err := publish(c.name, metrics); err != nil {
		fmt.Fprintln(stderr, "metrics:", err)
	} else {
		defer unpublish(c.name)
	}
	var srv *http.Server
	if c.http != "" {
		ln, err := net.Listen("tcp", c.http)
		if err != nil {
			stopAll(false)
			return fmt.Errorf("--http: %v", err)
		}
		srv = &http.Server{Handler: handler(agent, metrics), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		fmt.Fprintf(stdout, "%s: metrics at http://%s/metrics and http://%s/debug/vars, status at http://%s/status\n", stamp(time.Now()), ln.Addr(), ln.Addr(), ln.Addr())
	}
	if c.join != "" {
		seeds := strings.Split(c.join, ",")
		if n, err := agent.Join(seeds); err != nil {
			fmt.Fprintf(stdout, "%s: joining %s: no member reached yet; retrying while alone\n", stamp(time.Now()), c.join)
		} else {
			fmt.Fprintf(stdout, "%s: joined through %d of %s\n", stamp(time.Now()), n, c.join)
		}
	}

	<-ctx.Done()
	fmt.Fprintf(stdout, "%s: leaving\n", stamp(time.Now()))
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	if err := stopAll(true); err != nil {
		fmt.Fprintln(stderr, "leave:", err)
	}
	fmt.Fprintf(stdout, "%s: left\n", stamp(time.Now()))
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stamp(t time.Time) string { return t.Format("15:04:05.000") }

// logFilter passes memberlist's log lines on, without [DEBUG] ones unless
// verbose.
type logFilter struct {
	w       io.Writer
	verbose bool
}

func (f *logFilter) Write(p []byte) (int, error) {
	if !f.verbose && bytes.Contains(p, []byte("[DEBUG]")) {
		return len(p), nil
	}
	return f.w.Write(p)
}
