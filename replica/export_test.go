package replica

// Test access to the package's injected hooks (nil in release builds).

// Device is what the package needs of a file, for tests that wrap it.
type Device = device

// SetTestHook sets the function called at every crash point ("journal
// write", "journal sync", "journal commit", "replica write", "replica sync",
// "rebuild write", "rebuild sync", "rebuild superblock"); nil clears it.
func SetTestHook(f func(point string)) { testHook = f }

// SetTestDevice wraps every file the package opens from now on; nil clears
// it.
func SetTestDevice(f func(path string, d Device) Device) { testDevice = f }

// JournalPath is where the set's journal is.
func JournalPath(s *Set) string { return s.recovery.Journal }

// Abandon closes the set's files without syncing or recording anything, as
// a crash would leave them (the journal's last record unmarked).
func Abandon(s *Set) {
	s.closed.Store(true)
	closeAll(s.members, s.journal)
}
