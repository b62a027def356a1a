package backup_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/backup"
)

func TestParseStatusFile(t *testing.T) {
	tests := []struct {
		desc    string
		data    string
		want    backup.Status
		wantErr string
	}{
		{
			desc: "full entry",
			data: `[{"version":1.0,"timestampUTC":"2024-01-02T03:04:05Z","status":{"name":"VMSnapshot","operation":"Enable","status":"transitioning","code":0,"formattedMessage":{"lang":"en-US","message":"snapshot in progress"},"substatus":[]}}]`,
			want: backup.Status{Name: "VMSnapshot", Operation: "Enable", Status: "transitioning",
				Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), RawTimestamp: "2024-01-02T03:04:05Z", Message: "snapshot in progress"},
		},
		{
			desc: "timestamp without zone is UTC, string code",
			data: `[{"timestampUTC":"2024-01-02T03:04:05","status":{"status":"success","code":"12"}}]`,
			want: backup.Status{Status: "success", Code: 12, RawTimestamp: "2024-01-02T03:04:05",
				Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		{
			desc: "fractional seconds and offset",
			data: `[{"timestampUTC":"2024-01-02T04:04:05.5+01:00","status":{"status":"error","code":1.0}}]`,
			want: backup.Status{Status: "error", Code: 1, RawTimestamp: "2024-01-02T04:04:05.5+01:00",
				Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 5e8, time.UTC)},
		},
		{
			desc: "byte order mark, only the first entry counts",
			data: "\ufeff" + `[{"status":{"status":"success"}},{"status":{"status":"transitioning"}}]`,
			want: backup.Status{Status: "success"},
		},
		{
			desc: "unreadable timestamp is kept raw, not an error",
			data: `[{"timestampUTC":"yesterday","status":{"status":"transitioning"}}]`,
			want: backup.Status{Status: "transitioning", RawTimestamp: "yesterday"},
		},
		{desc: "empty", data: "", wantErr: "empty"},
		{desc: "blank", data: " \n", wantErr: "empty"},
		{desc: "empty array", data: "[]", wantErr: "empty array"},
		{desc: "object, not array", data: `{"status":{"status":"success"}}`, wantErr: "not a JSON array"},
		{desc: "truncated", data: `[{"status":{"status":"transi`, wantErr: "not a JSON array"},
		{desc: "first entry not an object", data: `["x"]`, wantErr: "first status entry"},
		{desc: "no status object", data: `[{"timestampUTC":"2024-01-02T03:04:05Z"}]`, wantErr: "no status object"},
		{desc: "status is a string", data: `[{"status":"transitioning"}]`, wantErr: "first status entry"},
		{desc: "fractional code", data: `[{"status":{"status":"success","code":1.5}}]`, wantErr: "code"},
		{desc: "binary", data: "\x00\x01\xff\xfe[", wantErr: "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := backup.ParseStatusFile([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !got.Timestamp.Equal(tt.want.Timestamp) {
				t.Errorf("Timestamp = %v, want %v", got.Timestamp, tt.want.Timestamp)
			}
			got.Timestamp, tt.want.Timestamp = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseStatusFile(f *testing.F) {
	for _, s := range []string{
		`[{"version":1.0,"timestampUTC":"2024-01-02T03:04:05Z","status":{"name":"n","operation":"o","status":"transitioning","code":0,"formattedMessage":{"lang":"en-US","message":"m"}}}]`,
		`[{"timestampUTC":"2024-01-02T03:04:05","status":{"status":"success","code":"7"}}]`,
		`[]`, `{}`, `[null]`, `[{"status":null}]`, `[{"status":{"code":1e400}}]`, "\ufeff[", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := backup.ParseStatusFile(data)
		if err != nil {
			if s != (backup.Status{}) {
				t.Errorf("error %v with a non-zero Status %+v", err, s)
			}
			return
		}
		if !s.Timestamp.IsZero() && s.Timestamp.Location() != time.UTC {
			t.Errorf("Timestamp %v is not UTC", s.Timestamp)
		}
		// What was read, written back as a status file, reads the same:
		// each field comes from where the format puts it.
		again, err := backup.ParseStatusFile(statusFile(t, s))
		if err != nil || !again.Timestamp.Equal(s.Timestamp) {
			t.Fatalf("%+v written back: %+v, %v", s, again, err)
		}
		again.Timestamp, s.Timestamp = time.Time{}, time.Time{}
		if again != s {
			t.Fatalf("written back and read again: %+v, want %+v", again, s)
		}
		// Only the first entry counts: one more changes nothing. (The
		// file parsed, so it is a non-empty JSON array ending in "]".)
		trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		withMore := append(trimmed[:len(trimmed)-1:len(trimmed)-1], `,{"status":{"status":"error"}}]`...)
		third, err := backup.ParseStatusFile(withMore)
		if err != nil {
			t.Fatalf("%q with one more entry: %v", withMore, err)
		}
		third.Timestamp = time.Time{}
		if third != s {
			t.Fatalf("a second entry changed the first: %+v, want %+v", third, s)
		}
	})
}

// statusFile writes s as the extension writes its status file.
func statusFile(t *testing.T, s backup.Status) []byte {
	type msg struct {
		Message string `json:"message"`
	}
	entry := []map[string]any{{
		"version":      1.0,
		"timestampUTC": s.RawTimestamp,
		"status": map[string]any{
			"name": s.Name, "operation": s.Operation, "status": s.Status, "code": s.Code,
			"formattedMessage": msg{s.Message},
		},
	}}
	b, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
