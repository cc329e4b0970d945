package testvectors

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// corpusJSON is a copy of ../shared/corpus/original-kernel.json: 400 cases
// answered by the original C addon. It is embedded so that tests do not
// depend on the working directory or on ../shared being present.
//
//go:embed testdata/original-kernel.json
var corpusJSON []byte

// Case is one corpus case. Its layout is ../shared/README.md's.
type Case struct {
	N, Objects, ObjectSize, VectorOffset int
	IDs                                  [][]byte   // the 16-byte IDs the case uses
	Vectors                              [][][2]int // per object, per replica: ID0, ID1 as indices into IDs
	Err                                  int        // -1, or the index of the first cyclic object
	Results                              [][4]int   // per object before Err: leader, length, repair, forked (0/1)
}

// Corpus parses the embedded corpus and checks that every case is well
// formed, so that a damaged file fails loudly rather than testing nothing.
func Corpus() ([]Case, error) {
	var file struct {
		Cases []struct {
			N            int        `json:"n"`
			Objects      int        `json:"objects"`
			ObjectSize   int        `json:"objectSize"`
			VectorOffset int        `json:"vectorOffset"`
			IDs          []string   `json:"ids"`
			Vectors      [][][2]int `json:"vectors"`
			Err          int        `json:"err"`
			Results      [][4]int   `json:"results"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(corpusJSON, &file); err != nil {
		return nil, fmt.Errorf("testvectors: corpus: %w", err)
	}
	if len(file.Cases) == 0 {
		return nil, fmt.Errorf("testvectors: corpus has no cases")
	}
	cases := make([]Case, len(file.Cases))
	for i, f := range file.Cases {
		c := Case{
			N: f.N, Objects: f.Objects, ObjectSize: f.ObjectSize, VectorOffset: f.VectorOffset,
			Vectors: f.Vectors, Err: f.Err, Results: f.Results,
		}
		for _, s := range f.IDs {
			b, err := hex.DecodeString(s)
			if err != nil || len(b) != 16 {
				return nil, fmt.Errorf("testvectors: corpus case %d: bad ID %q", i, s)
			}
			c.IDs = append(c.IDs, b)
		}
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("testvectors: corpus case %d: %w", i, err)
		}
		cases[i] = c
	}
	return cases, nil
}

// check reports the first way c is malformed.
func (c Case) check() error {
	switch {
	case c.N < 1 || c.N > 255:
		return fmt.Errorf("n = %d", c.N)
	case c.Objects < 1 || len(c.Vectors) != c.Objects:
		return fmt.Errorf("%d objects, %d vector lists", c.Objects, len(c.Vectors))
	case c.ObjectSize < 32 || c.VectorOffset < 0 || c.VectorOffset > c.ObjectSize-32:
		return fmt.Errorf("objectSize %d, vectorOffset %d", c.ObjectSize, c.VectorOffset)
	case c.Err < -1 || c.Err >= c.Objects:
		return fmt.Errorf("err = %d", c.Err)
	case len(c.Results) != c.good():
		return fmt.Errorf("%d results, want %d", len(c.Results), c.good())
	}
	for o, vs := range c.Vectors {
		if len(vs) != c.N {
			return fmt.Errorf("object %d has %d vectors", o, len(vs))
		}
		for _, v := range vs {
			if v[0] < 0 || v[0] >= len(c.IDs) || v[1] < 0 || v[1] >= len(c.IDs) {
				return fmt.Errorf("object %d: ID index out of range", o)
			}
		}
	}
	for o, r := range c.Results {
		if r[0] < 0 || r[0] >= c.N || r[3] < 0 || r[3] > 1 {
			return fmt.Errorf("object %d: bad result %v", o, r)
		}
	}
	return nil
}

// good is the number of objects before the first bad one.
func (c Case) good() int {
	if c.Err < 0 {
		return c.Objects
	}
	return c.Err
}

// Vector returns the 32-byte vector of replica r in object o.
func (c Case) Vector(o, r int) []byte {
	v := make([]byte, 0, 32)
	v = append(v, c.IDs[c.Vectors[o][r][0]]...)
	return append(v, c.IDs[c.Vectors[o][r][1]]...)
}

// Sources rebuilds the sources exactly as ../shared/README.md says: byte b
// of replica r's object o is (r*31 + o*7 + b) & 255, then the object's
// vector (ID0 then ID1) is written at VectorOffset. The filler differs per
// replica and per object so that copying the wrong object shows.
func (c Case) Sources() [][]byte {
	sources := make([][]byte, c.N)
	for r := range sources {
		s := make([]byte, c.Objects*c.ObjectSize)
		for o := 0; o < c.Objects; o++ {
			obj := s[o*c.ObjectSize : (o+1)*c.ObjectSize]
			for b := range obj {
				obj[b] = byte((r*31 + o*7 + b) & 255)
			}
			copy(obj[c.VectorOffset:], c.Vector(o, r))
		}
		sources[r] = s
	}
	return sources
}

// Target returns the expected target: for each object before Err, the
// leader's object if its length is > 0, else zeros; zeros for Err and
// every later object.
func (c Case) Target() []byte {
	sources := c.Sources()
	target := make([]byte, c.Objects*c.ObjectSize)
	for o, r := range c.Results {
		if r[1] > 0 {
			start := o * c.ObjectSize
			copy(target[start:start+c.ObjectSize], sources[r[0]][start:start+c.ObjectSize])
		}
	}
	return target
}
