//go:build gc

package about

const haveAddChain = true

// addChain runs n iterations of 10 dependent one-cycle adds.
//
//go:noescape
func addChain(n int) int
