package manager

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Describe returns a table of every member for operators: a summary line,
// then per node its state, role, weight and domain.
func (c Config) Describe() string { return c.DescribeColumns(nil, nil) }

// DescribeColumns is Describe with more columns: headers, and cells for
// each node (one per header), as package advice adds what the network shows.
func (c Config) DescribeColumns(headers []string, cells func(NodeID) []string) string {
	var b strings.Builder
	q := c.Quorum()
	t := c.Tolerance()
	fmt.Fprintf(&b, "epoch %d, %s: quorum %d of %d voters", c.Epoch, c.Rule, t.Quorum, len(q.Voters))
	if q.Rule.Weighted {
		fmt.Fprintf(&b, " (%s of %s votes)", votes(q.Threshold()), votes(q.TotalWeight()))
	}
	fmt.Fprintf(&b, "; tolerates %d failure(s)", t.Crash)
	if t.LargestDomain != "" {
		if t.SurvivesLargestDomainLoss {
			fmt.Fprintf(&b, "; survives losing %s", t.LargestDomain)
		} else {
			fmt.Fprintf(&b, "; losing %s loses the quorum", t.LargestDomain)
		}
	}
	b.WriteByte('\n')
	if tb := q.tieBreaker(); tb != "" && c.Rule.TieBreaker == "" {
		fmt.Fprintf(&b, "tie-breaker: %s (the lowest voter ID)\n", tb)
	}
	if c.Waiting {
		fmt.Fprintf(&b, "wait_for_all: no quorum until all %d voters are seen up at once (OpAllSeen)\n", len(q.Voters))
	}
	if c.Outgoing != nil {
		fmt.Fprintf(&b, "joint phase: decisions also need a quorum of the outgoing voters %s (%s)\n",
			joinIDs(c.Outgoing.IDs()), c.Outgoing.Rule)
	}
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(w, "ID\tSTATE\tROLE\tWEIGHT\tDOMAIN")
	for _, h := range headers {
		fmt.Fprint(w, "\t"+h)
	}
	fmt.Fprintln(w)
	for _, n := range c.Nodes {
		role := "voter"
		switch {
		case n.State == Left:
			role = "leaving"
		case n.Standby:
			role = "standby"
		case n.Witness:
			role = "witness"
		}
		if c.Outgoing != nil && c.Outgoing.Has(n.ID) != n.Voting() {
			if n.Voting() {
				role = "joining"
			} else {
				role = "leaving"
			}
		}
		domain := n.Domain
		if domain == "" {
			domain = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s", n.ID, n.State, role, n.Weight, domain)
		if cells != nil {
			for _, cell := range cells(n.ID) {
				fmt.Fprint(w, "\t"+cell)
			}
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	return b.String()
}
