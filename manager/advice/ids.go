package advice

import (
	"fmt"
	"strings"

	"github.com/lockstep/quorum/manager"
)

// checkID bounds an observed node ID as the manager bounds member IDs, so
// that the network view never grows on garbage.
func checkID(what string, id manager.NodeID) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(string(id), " \t\n\r") {
		return fmt.Errorf("advice: %s must be 1 to 64 bytes without spaces, got %q", what, id)
	}
	return nil
}

func joinIDs(ids []manager.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, " ")
}

// votes formats milli-votes as votes.
func votes(v uint64) string { return fmt.Sprintf("%d.%03d", v/1000, v%1000) }

// domainKey gives a voter without a domain a domain of its own, as the
// manager's domain rule does; the NUL cannot appear in a real domain name.
func domainKey(id manager.NodeID, domain string) string {
	if domain == "" {
		return "\x00" + string(id)
	}
	return domain
}

// domainName is the key for people: "(id)" for a voter alone.
func domainName(key string) string {
	if strings.HasPrefix(key, "\x00") {
		return "(" + key[1:] + ")"
	}
	return key
}

// voterWeight is id's weight in q.
func voterWeight(q manager.Quorum, id manager.NodeID) manager.Weight {
	for _, v := range q.Voters {
		if v.ID == id {
			return v.Weight
		}
	}
	return 0
}
