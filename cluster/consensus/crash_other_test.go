//go:build !unix

package consensus

import "testing"

// The crash tests (crash_test.go) kill a child process with SIGKILL and
// rely on Unix file semantics; elsewhere they say so rather than vanish.
func TestCrashSoloKill(t *testing.T) {
	t.Skip("crash tests need Unix signals (SIGKILL of a child process)")
}
func TestCrashMemberKill(t *testing.T) {
	t.Skip("crash tests need Unix signals (SIGKILL of a child process)")
}
func TestCrashDamagedFiles(t *testing.T) { t.Skip("crash tests need Unix signals and file semantics") }
