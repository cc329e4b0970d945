// Package promtext writes metrics in the Prometheus text exposition
// format (version 0.0.4): per metric a # HELP and a # TYPE line, then one
// `name{label="value",...} value` line per sample. It also reads that
// format back, strictly, for tests. No client library: the format is a
// few lines of text.
package promtext

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Metric is one metric family: its name, help text, type ("gauge" or
// "counter") and samples.
type Metric struct {
	Name    string
	Help    string
	Type    string
	Samples []Sample
}

// Sample is one value of a metric, with its labels in order.
type Sample struct {
	Labels []Label
	Value  float64
}

// Label is one name="value" pair.
type Label struct{ Name, Value string }

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Write writes the metrics in order. A bad metric or label name, an
// unknown type, or a metric without help or samples is an error naming it, and
// nothing is written.
func Write(w io.Writer, metrics []Metric) error {
	var b strings.Builder
	for _, m := range metrics {
		if !nameRE.MatchString(m.Name) {
			return fmt.Errorf("promtext: bad metric name %q", m.Name)
		}
		if m.Type != "gauge" && m.Type != "counter" {
			return fmt.Errorf("promtext: metric %s: type %q, want gauge or counter", m.Name, m.Type)
		}
		if len(m.Samples) == 0 || m.Help == "" {
			return fmt.Errorf("promtext: metric %s needs help and samples", m.Name)
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.Name, helpEscaper.Replace(m.Help), m.Name, m.Type)
		for _, s := range m.Samples {
			b.WriteString(m.Name)
			if len(s.Labels) > 0 {
				b.WriteByte('{')
				for i, l := range s.Labels {
					if !labelRE.MatchString(l.Name) || strings.HasPrefix(l.Name, "__") {
						return fmt.Errorf("promtext: metric %s: bad label name %q", m.Name, l.Name)
					}
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `%s="%s"`, l.Name, labelEscaper.Replace(l.Value))
				}
				b.WriteByte('}')
			}
			b.WriteString(" " + formatValue(s.Value) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// sampleRE is one sample line: a name, optional labels, a value.
var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$`)

var labelPairRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// Parse reads what Write writes, strictly: every line a # HELP or # TYPE
// comment or a sample, every sample's metric with HELP and TYPE before
// it, each once, and a value that parses. It returns the metrics in order,
// or an error naming the line.
func Parse(r io.Reader) ([]Metric, error) {
	var out []Metric
	index := map[string]int{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		bad := func(why string) error { return fmt.Errorf("promtext: line %d %q: %s", n, line, why) }
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			kind, rest, _ := strings.Cut(rest, " ")
			name, text, _ := strings.Cut(rest, " ")
			if !nameRE.MatchString(name) {
				return nil, bad("bad metric name")
			}
			i, seen := index[name]
			if !seen {
				i = len(out)
				index[name] = i
				out = append(out, Metric{Name: name})
			}
			switch kind {
			case "HELP":
				if out[i].Help != "" || len(out[i].Samples) > 0 {
					return nil, bad("HELP twice or after samples")
				}
				out[i].Help = text
			case "TYPE":
				if typed[name] || len(out[i].Samples) > 0 {
					return nil, bad("TYPE twice or after samples")
				}
				if text != "gauge" && text != "counter" {
					return nil, bad("unknown type")
				}
				typed[name] = true
				out[i].Type = text
			default:
				return nil, bad("a comment that is neither HELP nor TYPE")
			}
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			return nil, bad("not name{labels} value")
		}
		i, seen := index[m[1]]
		if !seen || out[i].Help == "" || !typed[m[1]] {
			return nil, bad("a sample without HELP and TYPE before it")
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return nil, bad("bad value")
		}
		s := Sample{Value: v}
		for _, l := range labelPairRE.FindAllStringSubmatch(m[3], -1) {
			val, err := strconv.Unquote(`"` + l[2] + `"`)
			if err != nil {
				return nil, bad("bad label value")
			}
			s.Labels = append(s.Labels, Label{Name: l[1], Value: val})
		}
		out[i].Samples = append(out[i].Samples, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, m := range out {
		if len(m.Samples) == 0 {
			return nil, fmt.Errorf("promtext: metric %s has no samples", m.Name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("promtext: no metrics")
	}
	return out, nil
}
