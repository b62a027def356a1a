package lockprobe_test

import (
	"os"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/lockprobe/lockprobetest"
)

func TestMain(m *testing.M) {
	lockprobetest.RunIfHelper()
	os.Exit(m.Run())
}
