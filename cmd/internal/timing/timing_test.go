package timing

import (
	"errors"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	calls := 0
	samples, err := Measure([]func() error{
		func() error { calls++; return nil },
		func() error { time.Sleep(time.Microsecond); return nil },
	}, 10, 5, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range samples {
		if !(s.Min > 0 && s.Min <= s.Median && s.Median <= s.Max) || s.Spread() < 0 {
			t.Errorf("call %d: %+v", i, s)
		}
	}
	if !(samples[1].Median > samples[0].Median) {
		t.Errorf("a call that sleeps measured no slower than an empty one: %+v", samples)
	}
	if calls == 0 {
		t.Error("the call never ran")
	}
}

func TestMeasureError(t *testing.T) {
	bad := errors.New("bad")
	if _, err := Measure([]func() error{func() error { return bad }}, 1, 3, time.Millisecond); !errors.Is(err, bad) {
		t.Fatalf("err = %v, want the call's", err)
	}
}
