package backup_test

import (
	"os"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/lockprobe/lockprobetest"
)

func TestMain(m *testing.M) {
	lockprobetest.RunIfHelper()
	runIfDetectHelper()
	os.Exit(m.Run())
}
