package backup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is the first entry of an extension status file.
type Status struct {
	// Name and Operation are what the extension says it is doing.
	Name, Operation string
	// Status is transitioning, success, warning or error, as written.
	Status string
	// Timestamp is timestampUTC; zero when absent or unreadable.
	Timestamp time.Time
	// RawTimestamp is timestampUTC as written, so that a caller can tell an
	// absent timestamp from an unreadable one.
	RawTimestamp string
	Code         int
	// Message is formattedMessage.message.
	Message string
}

// Transitioning reports whether the extension says it is still at work.
func (s Status) Transitioning() bool {
	return strings.EqualFold(strings.TrimSpace(s.Status), "transitioning")
}

// statusEntry is one element of the status file's JSON array.
type statusEntry struct {
	TimestampUTC string `json:"timestampUTC"`
	Status       *struct {
		Name             string          `json:"name"`
		Operation        string          `json:"operation"`
		Status           string          `json:"status"`
		Code             json.RawMessage `json:"code"`
		FormattedMessage *struct {
			Message string `json:"message"`
		} `json:"formattedMessage"`
	} `json:"status"`
}

// ParseStatusFile parses an extension status file:
//
//	[{"version":1.0,"timestampUTC":"...","status":{"name":"...","operation":"...",
//	  "status":"transitioning","code":0,"formattedMessage":{"message":"..."}}}]
//
// Only the first element counts. A UTF-8 byte order mark is allowed. An
// unreadable timestampUTC is not an error: Timestamp stays zero and
// RawTimestamp keeps the text.
func ParseStatusFile(data []byte) (Status, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return Status{}, errors.New("empty status file")
	}
	if !utf8.Valid(data) {
		return Status{}, errors.New("status file is not UTF-8 text")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return Status{}, fmt.Errorf("status file is not a JSON array: %w", err)
	}
	if len(entries) == 0 {
		return Status{}, errors.New("status file holds an empty array")
	}
	var e statusEntry
	if err := json.Unmarshal(entries[0], &e); err != nil {
		return Status{}, fmt.Errorf("first status entry: %w", err)
	}
	if e.Status == nil {
		return Status{}, errors.New("first status entry has no status object")
	}
	s := Status{
		Name:         e.Status.Name,
		Operation:    e.Status.Operation,
		Status:       e.Status.Status,
		RawTimestamp: e.TimestampUTC,
		Timestamp:    parseTimestamp(e.TimestampUTC),
	}
	if e.Status.FormattedMessage != nil {
		s.Message = e.Status.FormattedMessage.Message
	}
	code, err := parseCode(e.Status.Code)
	if err != nil {
		return Status{}, fmt.Errorf("first status entry: code: %w", err)
	}
	s.Code = code
	return s, nil
}

// parseCode accepts a JSON number or a numeric string (both are seen in
// handler status files); absent or null is 0.
func parseCode(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n json.Number
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		if strings.TrimSpace(s) == "" {
			return 0, nil
		}
		n = json.Number(strings.TrimSpace(s))
	} else if err := json.Unmarshal(raw, &n); err != nil {
		return 0, err
	}
	if i, err := strconv.Atoi(n.String()); err == nil {
		return i, nil
	}
	// 1.0 and the like.
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != float64(int(f)) {
		return 0, fmt.Errorf("not an integer: %s", raw)
	}
	return int(f), nil
}

// timestampLayouts are the forms timestampUTC takes; those without a zone
// are UTC, as the field's name says.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

func parseTimestamp(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
