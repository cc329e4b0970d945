package about

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is one line naming the command, the module version it was built
// from (with the VCS revision when the build recorded one), and the Go
// toolchain and platform.
func Version(command string) string {
	version, revision, modified := "(devel)", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" {
			version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if revision != "" {
		version += " " + revision
		if modified {
			version += "+modified"
		}
	}
	return fmt.Sprintf("%s %s (%s %s/%s)", command, version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
