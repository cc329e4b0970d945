package memberlist

import (
	"encoding/binary"
	"math"
	"time"
)

// Ack payloads carry the acking member's own view of its links, so every
// member's network monitor learns the whole mesh rather than its own star:
// a version byte, then per peer a name length (1 byte), the name, and the
// last direct round trip in microseconds (4 bytes, big-endian), or
// unreachableRTT when the peer has gone silent or dead.
const (
	payloadVersion  = 1
	payloadMax      = 480 // bytes: well inside one UDP packet with the ack
	unreachableRTT  = math.MaxUint32
	maxPayloadRTTUs = math.MaxUint32 - 1
)

// linkReport is one peer in an ack payload.
type linkReport struct {
	name      string
	reachable bool
	rtt       time.Duration
}

// encodePayload writes reports, starting at index start and wrapping
// around, until payloadMax bytes; it returns the payload and how many
// reports it holds.
func encodePayload(reports []linkReport, start int) ([]byte, int) {
	if len(reports) == 0 {
		return nil, 0
	}
	b := []byte{payloadVersion}
	n := 0
	for k := range reports {
		r := reports[(start+k)%len(reports)]
		if len(r.name) == 0 || len(r.name) > 255 {
			continue
		}
		if len(b)+1+len(r.name)+4 > payloadMax {
			break
		}
		b = append(b, byte(len(r.name)))
		b = append(b, r.name...)
		us := uint32(unreachableRTT)
		if r.reachable {
			us = uint32(min(max(r.rtt.Microseconds(), 0), maxPayloadRTTUs))
		}
		b = binary.BigEndian.AppendUint32(b, us)
		n++
	}
	return b, n
}

// decodePayload reads what encodePayload wrote; it stops at the first
// malformed entry and ignores payloads of another version.
func decodePayload(b []byte) []linkReport {
	if len(b) < 1 || b[0] != payloadVersion {
		return nil
	}
	b = b[1:]
	var out []linkReport
	for len(b) > 0 {
		l := int(b[0])
		if l == 0 || len(b) < 1+l+4 {
			break
		}
		name := string(b[1 : 1+l])
		us := binary.BigEndian.Uint32(b[1+l:])
		b = b[1+l+4:]
		r := linkReport{name: name, reachable: us != unreachableRTT}
		if r.reachable {
			r.rtt = time.Duration(us) * time.Microsecond
		}
		out = append(out, r)
	}
	return out
}
