// Package about describes, for the tools' reports, the build they run
// (Version) and the CPU they run on (CPU): the facts a reader of a report or
// a benchmark needs to reproduce it.
package about
