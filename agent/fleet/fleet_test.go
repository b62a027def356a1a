package fleet

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/agentkeeper/agentkeeper/agent"
)

// sampleReport returns a realistic `check --json` report for host.
func sampleReport(host, version string, failing ...string) *agent.Report {
	running := true
	r := &agent.Report{
		Offline: false,
		Root:    "/",
		OS:      agent.OSReport{Family: "linux", ID: "debian", Version: "12", Name: "Debian GNU/Linux 12 (bookworm)", Like: []string{}},
		Agent: agent.AgentReport{
			Supported: true, Package: "waagent", Service: "walinuxagent.service", Installer: "apt-get",
			Installed: version != "", Version: version, PackageVersion: version + "-4.1", VersionSource: "dpkg",
			GoalStateVersion: version, MinVersion: "2.2.53.1", ServiceEnabled: true, ServiceRunning: &running,
		},
		Time: "2026-11-24T18:00:00Z", Hostname: host, AgentkeeperVersion: "v0.1.0",
	}
	for _, id := range []string{"os.detected", "os.supported", "os.azure", "agent.installed", "agent.version",
		"agent.service", "agent.config", "agent.extensions", "agent.provisioning", "agent.autoupdate",
		"agent.python", "mounts.noexec", "network.wireserver", "network.hostgaplugin", "network.imds", "backup.idle"} {
		c := agent.Check{ID: agent.CheckID(id), Status: agent.StatusPass, Message: "the check " + id + " passed on this machine, all is well"}
		if slices.Contains(failing, id) {
			c.Status, c.Message, c.Fix = agent.StatusFail, id+" failed", "install or update the Azure VM agent: apt-get install waagent"
		}
		r.Add(c)
	}
	r.Finish()
	return r
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := agent.WriteJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// ensureOutput is an `ensure --json` object around rep.
func ensureOutput(t testing.TB, rep *agent.Report, outcome string) string {
	return mustJSON(t, map[string]any{
		"plan":           map[string]any{"action": "update", "reason": "too old", "commands": []string{"apt-get install waagent"}},
		"preconditions":  []map[string]string{{"id": "backup.idle", "status": "fail", "message": "a backup is running"}},
		"actions":        []any{},
		"report":         rep,
		"version_before": rep.Agent.Version, "version_after": rep.Agent.Version,
		"reboot_required": false, "outcome": outcome, "message": "a backup is running", "exit_code": 75,
	})
}

// hugeReader yields a syntactically valid JSON object of about n bytes.
func hugeReader(n int) io.Reader {
	return io.MultiReader(strings.NewReader(`{"ready":true,"checks":[],"pad":"`),
		io.LimitReader(repeatReader('x'), int64(n)), strings.NewReader(`"}`))
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestAdd(t *testing.T) {
	ready := mustJSON(t, sampleReport("web-1", "2.7.3.0"))
	notReady := mustJSON(t, sampleReport("db-1", "2.2.45", "agent.version", "agent.service"))
	noHost := mustJSON(t, sampleReport("", "", "agent.installed"))
	tests := []struct {
		desc    string
		name    string
		in      io.Reader
		max     int64
		state   State
		host    string   // listed host name, for not-ready and deferred
		failing []string // its failing checks
		outcome string
		reason  string // in the unreadable reason
		version string // counted version
	}{
		{desc: "ready check report", name: "r/web-1.json", in: strings.NewReader(ready), state: Ready, version: "2.7.3.0"},
		{desc: "not ready check report", name: "r/db-1.json", in: strings.NewReader(notReady), state: NotReady,
			host: "db-1", failing: []string{"agent.version", "agent.service"}, version: "2.2.45"},
		{desc: "no hostname: listed by file name", name: "in/img-7.json", in: strings.NewReader(noHost), state: NotReady,
			host: "img-7.json", failing: []string{"agent.installed"}, version: noVersion},
		{desc: "deferred ensure output", name: "e.json", in: strings.NewReader(ensureOutput(t, sampleReport("app-3", "2.2.45", "agent.version"), "deferred")),
			state: Deferred, host: "app-3", failing: []string{"agent.version"}, outcome: "deferred", version: "2.2.45"},
		{desc: "deferred ensure output, ready report", name: "e.json", in: strings.NewReader(ensureOutput(t, sampleReport("app-4", "2.7.3.0"), "deferred")),
			state: Deferred, host: "app-4", failing: []string{}, outcome: "deferred", version: "2.7.3.0"},
		{desc: "ready ensure output", name: "e.json", in: strings.NewReader(ensureOutput(t, sampleReport("app-5", "2.9.1.1"), "ready")),
			state: Ready, version: "2.9.1.1"},
		{desc: "failed ensure output, ready report", name: "e.json", in: strings.NewReader(ensureOutput(t, sampleReport("app-6", "2.9.1.1"), "failed")),
			state: NotReady, host: "app-6", failing: []string{}, outcome: "failed", version: "2.9.1.1"},
		{desc: "ensure output without report", name: "dir/e2.json", in: strings.NewReader(`{"report":null,"outcome":"failed","exit_code":2}`),
			state: NotReady, host: "e2.json", failing: []string{}, outcome: "failed", version: noVersion},
		{desc: "Ansible result with the report on stdout", name: "tree/web-9", in: strings.NewReader(mustJSON(t, map[string]any{
			"changed": true, "rc": 1, "cmd": []string{"agentkeeper", "check", "--json"}, "stdout": mustJSON(t, sampleReport("", "2.2.45", "agent.version")), "stderr": ""})),
			state: NotReady, host: "web-9", failing: []string{"agent.version"}, version: "2.2.45"},
		{desc: "Ansible result with garbage on stdout", name: "tree/web-10", in: strings.NewReader(`{"rc":2,"stdout":"agentkeeper: boom"}`),
			state: Unreadable, reason: "stdout is not a report"},
		{desc: "garbage", name: "g.json", in: strings.NewReader("\x00\x01 not json at all"), state: Unreadable, reason: "not JSON"},
		{desc: "truncated", name: "t.json", in: strings.NewReader(ready[:len(ready)/2]), state: Unreadable, reason: "truncated"},
		{desc: "foreign JSON object", name: "package.json", in: strings.NewReader(`{"name":"left-pad","version":"1.3.0"}`),
			state: Unreadable, reason: `no "ready" and "checks"`},
		{desc: "foreign JSON array", name: "list.json", in: strings.NewReader(`[1,2,3]`), state: Unreadable, reason: "not an agentkeeper report"},
		{desc: "foreign JSON with clashing types", name: "x.json", in: strings.NewReader(`{"ready":"yes","checks":7}`),
			state: Unreadable, reason: "not an agentkeeper report"},
		{desc: "checks not a list", name: "x.json", in: strings.NewReader(`{"ready":true,"checks":{"id":"x"}}`), state: Unreadable, reason: `no "ready" and "checks"`},
		{desc: "ready without checks", name: "x.json", in: strings.NewReader(`{"ready":true}`), state: Unreadable, reason: `no "ready" and "checks"`},
		{desc: "JSON null", name: "null.json", in: strings.NewReader(`null`), state: Unreadable, reason: `no "ready"`},
		{desc: "empty file", name: "empty.json", in: strings.NewReader(""), state: Unreadable, reason: "empty file"},
		{desc: "whitespace only", name: "ws.json", in: strings.NewReader(" \n\t"), state: Unreadable, reason: "empty file"},
		{desc: "two objects", name: "two.json", in: strings.NewReader(ready + ready), state: Unreadable, reason: "more than one JSON value"},
		{desc: "trailing garbage", name: "tg.json", in: strings.NewReader(ready + "xyz"), state: Unreadable, reason: "more than one JSON value"},
		{desc: "huge file over the default cap", name: "huge.json", in: hugeReader(DefaultMaxBytes + 10), state: Unreadable, reason: "larger than 16777216 bytes"},
		{desc: "file over a small cap", name: "big.json", in: strings.NewReader(ready), max: 100, state: Unreadable, reason: "larger than 100 bytes"},
		{desc: "trailing whitespace after object exactly at cap", name: "cap.json", in: strings.NewReader(`{"ready":true,"checks":[]}` + "\n\n"),
			max: int64(len(`{"ready":true,"checks":[]}`) + 2), state: Ready, version: noVersion},
		{desc: "one byte reads", name: "slow.json", in: iotest.OneByteReader(strings.NewReader(notReady)), state: NotReady,
			host: "db-1", failing: []string{"agent.version", "agent.service"}, version: "2.2.45"},
		{desc: "read error", name: "err.json", in: iotest.ErrReader(fmt.Errorf("disk on fire")), state: Unreadable, reason: "disk on fire"},
		{desc: "hostile hostname", name: "h.json", in: strings.NewReader(`{"ready":false,"hostname":"evil\u001b[2J` + strings.Repeat("y", 1000) + `","checks":[{"id":"a\nb","status":"fail"}]}`),
			state: NotReady, host: "evil?[2J" + strings.Repeat("y", maxField-len("evil?[2J")-len("…")) + "…", failing: []string{"a?b"}, version: noVersion},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := &Summary{MaxBytes: tc.max}
			if got := s.Add(tc.name, tc.in); got != tc.state {
				t.Fatalf("state %s, want %s; summary %+v", got, tc.state, s)
			}
			if s.Total != 1 || s.ReadyN+s.NotReadyN+s.DeferredN+s.UnreadableN != 1 {
				t.Errorf("counts %+v", s)
			}
			switch tc.state {
			case Unreadable:
				if len(s.Problems) != 1 || s.Problems[0].File != tc.name || !strings.Contains(s.Problems[0].Reason, tc.reason) {
					t.Errorf("problems %+v, want %s with reason containing %q", s.Problems, tc.name, tc.reason)
				}
				if len(s.Versions) != 0 {
					t.Errorf("versions counted for an unreadable file: %v", s.Versions)
				}
				return
			case NotReady, Deferred:
				if len(s.Hosts) != 1 {
					t.Fatalf("hosts %+v", s.Hosts)
				}
				h := s.Hosts[0]
				if h.Name != tc.host || h.File != tc.name || h.State != tc.state || h.Outcome != tc.outcome || !slices.Equal(h.Failing, tc.failing) {
					t.Errorf("host %+v, want %s %s failing %q outcome %q", h, tc.host, tc.state, tc.failing, tc.outcome)
				}
			case Ready:
				if len(s.Hosts) != 0 {
					t.Errorf("a ready host was listed: %+v", s.Hosts)
				}
			}
			if s.Versions[tc.version] != 1 {
				t.Errorf("versions %v, want %s counted once", s.Versions, tc.version)
			}
		})
	}
}

func TestCapsAndRender(t *testing.T) {
	s := &Summary{MaxListed: 3}
	for i := range 10 {
		s.Add(fmt.Sprintf("r/%d.json", i), strings.NewReader(mustJSON(t, sampleReport(fmt.Sprintf("h%d", i), "2.2.45", "agent.version"))))
	}
	for i := range 5 {
		s.Add(fmt.Sprintf("ok/%d.json", i), strings.NewReader(mustJSON(t, sampleReport(fmt.Sprintf("ok%d", i), "2.7.3.0"))))
	}
	for i := range 4 {
		s.Add(fmt.Sprintf("bad/%d.json", i), strings.NewReader("{"))
	}
	if s.Total != 19 || s.ReadyN != 5 || s.NotReadyN != 10 || s.UnreadableN != 4 || s.AllReady() {
		t.Fatalf("counts %+v", s)
	}
	if len(s.Hosts) != 3 || s.HostsOmitted != 7 || len(s.Problems) != 3 || s.ProblemsOmitted != 1 {
		t.Fatalf("caps: %d hosts (+%d), %d problems (+%d)", len(s.Hosts), s.HostsOmitted, len(s.Problems), s.ProblemsOmitted)
	}

	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fleet: 19 report file(s)", "not ready   10", "unreadable  4", "h0", "agent.version", "… and 7 more",
		"bad/0.json: not JSON", "… and 1 more", "2.2.45   10", "2.7.3.0  5"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	var js bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Total, Ready, NotReady, Deferred, Unreadable, HostsOmitted int
		Hosts                                                      []Host
		Versions                                                   []VersionCount
	}
	got.NotReady = -1
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(js.Bytes(), &m)
	if m["not_ready"] != 10.0 || m["hosts_omitted"] != 7.0 || m["unreadable_omitted"] != 1.0 || got.Total != 19 ||
		len(got.Hosts) != 3 || got.Versions[0] != (VersionCount{"2.2.45", 10}) {
		t.Errorf("JSON:\n%s", js.String())
	}

	if strings.Contains(js.String(), noVersion) {
		t.Errorf("JSON says %q:\n%s", noVersion, js.String())
	}
}

// TestStreamCSV: one row per report file as it is added — ready hosts too,
// none omitted past MaxListed — with the OS, and unreadable files with
// their reason.
func TestStreamCSV(t *testing.T) {
	var c bytes.Buffer
	s := &Summary{MaxListed: 1}
	done := s.StreamCSV(&c)
	s.Add("r/a.json", strings.NewReader(mustJSON(t, sampleReport("a", "2.2.45", "agent.version", "agent.service"))))
	s.Add("r/b.json", strings.NewReader(mustJSON(t, sampleReport("b", "2.2.45", "agent.version"))))
	s.Add("r/c.json", strings.NewReader(mustJSON(t, sampleReport("c", "2.7.3.0"))))
	s.Add("r/d.json", strings.NewReader(ensureOutput(t, sampleReport("d", ""), "deferred")))
	s.Add("r/bad.json", strings.NewReader("{"))
	if err := done(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		CSVHeader,
		{"a", "not-ready", "agent.version agent.service", "2.2.45", "debian 12", "", "r/a.json", ""},
		{"b", "not-ready", "agent.version", "2.2.45", "debian 12", "", "r/b.json", ""},
		{"c", "ready", "", "2.7.3.0", "debian 12", "", "r/c.json", ""},
		{"d", "deferred", "", "", "debian 12", "deferred", "r/d.json", ""},
		{"", "unreadable", "", "", "", "", "r/bad.json", "not JSON: truncated"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
	// The JSON listing is still capped.
	if len(s.Hosts) != 1 || s.HostsOmitted != 2 {
		t.Errorf("listed %d, omitted %d", len(s.Hosts), s.HostsOmitted)
	}
}

// TestJSONMissingVersionNull: a host without an agent version has
// agent_version null, and the versions list counts it under null.
func TestJSONMissingVersionNull(t *testing.T) {
	s := &Summary{}
	s.Add("x.json", strings.NewReader(`{"ready":false,"hostname":"x","checks":[{"id":"agent.installed","status":"fail"}]}`))
	var js bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Hosts []struct {
			AgentVersion *string `json:"agent_version"`
			OS           *string `json:"os"`
		}
		Versions []struct {
			Version *string
			Count   int
		}
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Hosts) != 1 || got.Hosts[0].AgentVersion != nil || got.Hosts[0].OS != nil ||
		len(got.Versions) != 1 || got.Versions[0].Version != nil || got.Versions[0].Count != 1 {
		t.Errorf("JSON:\n%s", js.String())
	}
}

func TestEmptyAndAllReady(t *testing.T) {
	s := &Summary{}
	if s.AllReady() {
		t.Error("an empty summary is all ready")
	}
	for _, f := range []func(io.Writer) error{s.WriteText, s.WriteJSON} {
		if err := f(io.Discard); err != nil {
			t.Error(err)
		}
	}
	s.Add("a.json", strings.NewReader(mustJSON(t, sampleReport("a", "2.7.3.0"))))
	if !s.AllReady() {
		t.Errorf("one ready report: %+v", s)
	}
}

func TestCSVInjection(t *testing.T) {
	s := &Summary{}
	var c bytes.Buffer
	done := s.StreamCSV(&c)
	s.Add("=cmd.json", strings.NewReader(`{"ready":false,"hostname":"=HYPERLINK(\"x\")","checks":[{"id":"+x","status":"fail"}],"os":{"id":"@x"}}`))
	_ = done()
	rows, _ := csv.NewReader(&c).ReadAll()
	if rows[1][0] != `'=HYPERLINK("x")` || rows[1][2] != "'+x" || rows[1][4] != "'@x" || rows[1][6] != "'=cmd.json" {
		t.Errorf("row %q", rows[1])
	}
}

func TestVersionsCapped(t *testing.T) {
	s := &Summary{}
	for i := range maxVersions + 50 {
		s.Add("v.json", strings.NewReader(fmt.Sprintf(`{"ready":true,"checks":[],"agent":{"version":"1.%d"}}`, i)))
	}
	if len(s.Versions) != maxVersions+1 || s.Versions[otherVersions] != 50 {
		t.Errorf("%d versions, other %d", len(s.Versions), s.Versions[otherVersions])
	}
}

func FuzzAdd(f *testing.F) {
	f.Add([]byte(mustJSON(f, sampleReport("h", "2.2.45", "agent.version"))))
	f.Add([]byte(ensureOutput(f, sampleReport("h", "2.2.45", "agent.version"), "deferred")))
	f.Add([]byte(`{"stdout":"{\"ready\":false,\"checks\":[{\"id\":\"x\",\"status\":\"fail\"}]}"}`))
	f.Add([]byte(`{"ready":true,"checks":null}`))
	f.Add([]byte(`{"outcome":"deferred","report":{"hostname":"\u0000"}}`))
	f.Add([]byte(`[`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Summary{MaxBytes: 1 << 16, MaxListed: 2}
		rows := 0
		s.OnHost = func(Host) { rows++ }
		s.OnProblem = func(Problem) { rows++ }
		for range 3 {
			s.Add("f.json", bytes.NewReader(data))
		}
		if s.Total != 3 || rows != 3 || s.ReadyN+s.NotReadyN+s.DeferredN+s.UnreadableN != 3 || len(s.Hosts) > 2 || len(s.Problems) > 2 {
			t.Fatalf("counts %+v", s)
		}
		for _, h := range s.Hosts {
			if len(h.Name) > maxField || len(h.Failing) > maxFailing+1 {
				t.Fatalf("listed host too large: %d bytes, %d ids", len(h.Name), len(h.Failing))
			}
		}
		if err := s.StreamCSV(io.Discard)(); err != nil {
			t.Fatal(err)
		}
		for _, w := range []func(io.Writer) error{s.WriteText, s.WriteJSON} {
			if err := w(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// BenchmarkSummarize feeds 20 000 realistic reports (in memory; one in ten
// not ready, one in fifty deferred ensure output) through one Summary.
func BenchmarkSummarize(b *testing.B) {
	const n = 20000
	docs := make([][]byte, n)
	size := 0
	for i := range docs {
		host := fmt.Sprintf("vm-%05d", i)
		switch {
		case i%50 == 0:
			docs[i] = []byte(ensureOutput(b, sampleReport(host, "2.2.45", "agent.version"), "deferred"))
		case i%10 == 0:
			docs[i] = []byte(mustJSON(b, sampleReport(host, "2.2.45", "agent.version", "agent.service")))
		default:
			docs[i] = []byte(mustJSON(b, sampleReport(host, []string{"2.7.3.0", "2.9.1.1", "2.10.0.8"}[i%3])))
		}
		size += len(docs[i])
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		s := &Summary{}
		for i, d := range docs {
			s.Add(fmt.Sprintf("reports/%d.json", i), bytes.NewReader(d))
		}
		if s.Total != n || s.UnreadableN != 0 {
			b.Fatalf("%+v", s.Problems)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
