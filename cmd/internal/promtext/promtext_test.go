package promtext

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/lockstep/quorum/manager"
)

// TestRoundTrip: what Write writes, Parse reads back the same, escapes
// included.
func TestRoundTrip(t *testing.T) {
	in := []Metric{
		{Name: "a_total", Type: "counter", Help: "A \\ help\nwith two lines.", Samples: []Sample{
			{Labels: []Label{{"member", `n"1\` + "\n"}, {"verdict", "ok"}}, Value: 3},
			{Labels: []Label{{"member", "n2"}}, Value: 0.5},
		}},
		{Name: "b", Type: "gauge", Help: "B.", Samples: []Sample{{Value: -2}}},
	}
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := Parse(&b)
	if err != nil {
		t.Fatalf("%v in\n%s", err, b.String())
	}
	in[0].Help = `A \\ help\nwith two lines.` // HELP stays escaped
	if !reflect.DeepEqual(in, out) {
		t.Errorf("read back\n%+v\nwant\n%+v", out, in)
	}
}

func TestWriteRefuses(t *testing.T) {
	for _, m := range []Metric{
		{Name: "bad name", Type: "gauge", Help: "x", Samples: []Sample{{}}},
		{Name: "x", Type: "histogram", Help: "x", Samples: []Sample{{}}},
		{Name: "x", Type: "gauge", Help: "x"},
		{Name: "x", Type: "gauge", Samples: []Sample{{}}},
		{Name: "x", Type: "gauge", Help: "x", Samples: []Sample{{Labels: []Label{{"__reserved", "v"}}}}},
	} {
		var b bytes.Buffer
		if err := Write(&b, []Metric{m}); err == nil || b.Len() != 0 {
			t.Errorf("Write(%+v): err %v, wrote %q", m, err, b.String())
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, text := range []string{
		"",
		"x 1\n",                               // no HELP nor TYPE
		"# HELP x h\nx 1\n",                   // no TYPE
		"# TYPE x gauge\nx 1\n",               // no HELP
		"# HELP x h\n# TYPE x gauge\nx one\n", // bad value
		"# HELP x h\n# TYPE x gauge\nx{a=1} 1\n",
		"# HELP x h\n# TYPE x gauge\n",        // no sample
		"# HELP x h\n# TYPE x summary\nx 1\n", // unknown type
		"# HELP x h\n# TYPE x gauge\n# other\nx 1\n",
		"# HELP x h\n# TYPE x gauge\nx 1\n\n",
	} {
		if _, err := Parse(strings.NewReader(text)); err == nil {
			t.Errorf("Parse(%q) = nil error", text)
		}
	}
}

// TestQuorum: every manager metric the agent exports, each with HELP and
// TYPE, parses.
func TestQuorum(t *testing.T) {
	m, err := manager.New(nil, []manager.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, manager.Rule{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, Quorum("a", m.Metrics())); err != nil {
		t.Fatal(err)
	}
	ms, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ms {
		got[m.Name] = m.Samples[0].Value
	}
	want := map[string]float64{"lockstep_quorum_epoch": 1, "lockstep_quorum_voters": 3, "lockstep_quorum_quorum": 2, "lockstep_quorum_tolerance": 1, "lockstep_quorum_healthy_voters": 3}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v\n%s", name, got[name], v, b.String())
		}
	}
	for _, name := range []string{"decisions_total", "adjustments_total", "rollbacks_total", "refusals_total"} {
		if _, ok := got["lockstep_quorum_"+name]; !ok {
			t.Errorf("no lockstep_quorum_%s", name)
		}
	}
}
