package testvectors

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// The 400 cases recorded from the original @ronomon/quorum C addon
// (../shared/corpus/original-kernel.json, vendored).
//
//go:embed testdata/original-kernel.json
var corpusJSON []byte

// Case is one recorded call of the original.
type Case struct {
	N, Objects, ObjectSize, VectorOffset int
	IDs                                  [][]byte
	Vectors                              [][][2]int // per object, per replica: ID0, ID1 as indices into IDs
	Err                                  int        // -1, or the first cyclic object
	Results                              [][4]int   // leader, length, repair, forked, per object before Err
}

// Corpus parses the embedded corpus.
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
		return nil, fmt.Errorf("corpus: %w", err)
	}
	cases := make([]Case, len(file.Cases))
	for i, c := range file.Cases {
		ids := make([][]byte, len(c.IDs))
		for j, h := range c.IDs {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 16 {
				return nil, fmt.Errorf("corpus: case %d id %d: %q is not 16 hex bytes", i, j, h)
			}
			ids[j] = b
		}
		cases[i] = Case{c.N, c.Objects, c.ObjectSize, c.VectorOffset, ids, c.Vectors, c.Err, c.Results}
	}
	return cases, nil
}

// Sources rebuilds the case's sources as the corpus README says: byte b of
// replica r's object o is (r*31 + o*7 + b) & 255, then the vector at
// VectorOffset.
func (c Case) Sources() [][]byte {
	sources := make([][]byte, c.N)
	for r := range sources {
		s := make([]byte, c.Objects*c.ObjectSize)
		for o := range c.Objects {
			obj := s[o*c.ObjectSize : (o+1)*c.ObjectSize]
			for b := range obj {
				obj[b] = byte(r*31 + o*7 + b)
			}
			pair := c.Vectors[o][r]
			copy(obj[c.VectorOffset:], c.IDs[pair[0]])
			copy(obj[c.VectorOffset+16:], c.IDs[pair[1]])
		}
		sources[r] = s
	}
	return sources
}

// Target is the target the original wrote for the objects before Err (the
// leader's object, or zeros), with zeros from Err on.
func (c Case) Target() []byte {
	sources := c.Sources()
	target := make([]byte, c.Objects*c.ObjectSize)
	for o, res := range c.Results {
		if res[1] > 0 {
			copy(target[o*c.ObjectSize:(o+1)*c.ObjectSize], sources[res[0]][o*c.ObjectSize:])
		}
	}
	return target
}
