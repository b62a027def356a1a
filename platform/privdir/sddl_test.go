package privdir

import (
	"strings"
	"testing"
)

func TestCheckSDDL(t *testing.T) {
	const me = "S-1-5-21-1-2-3-1000"
	trusted := []string{"SY", "BA", me}
	tests := []struct {
		desc, sddl string
		want       string // "" means accepted
	}{
		{desc: "agentkeeper's own", sddl: SDDL},
		{desc: "owned by SYSTEM, with group", sddl: "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"},
		{desc: "owned by the running user", sddl: "O:" + me + "D:(A;OICI;FA;;;SY)(A;OICI;FA;;;" + me + ")"},
		{desc: "users may read", sddl: "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)(A;OICI;0x1200a9;;;WD)"},
		{desc: "creator owner, inherit only", sddl: "O:BAD:(A;OICIIO;GA;;;CO)(A;OICI;FA;;;SY)"},
		{desc: "users may write, but inherit only", sddl: "O:BAD:(A;OICIIO;FA;;;BU)"},
		{desc: "deny entries take away", sddl: "O:BAD:(D;OICI;FA;;;WD)(A;OICI;FA;;;BA)"},
		{desc: "a SACL is skipped", sddl: "O:BAD:P(A;;FA;;;BA)S:(AU;SAFA;FA;;;WD)"},

		{desc: "owned by a user", sddl: "O:S-1-5-21-9-9-9-1001D:(A;OICI;FA;;;BA)", want: "owned by S-1-5-21-9-9-9-1001"},
		{desc: "owned by Everyone", sddl: "O:WDD:(A;OICI;FA;;;BA)", want: "owned by WD"},
		{desc: "Everyone full control", sddl: "O:BAD:(A;OICI;FA;;;WD)", want: "lets WD write"},
		{desc: "users may add files", sddl: "O:BAD:(A;;0x2;;;BU)", want: "lets BU write"},
		{desc: "users may add subfolders", sddl: "O:BAD:(A;;LC;;;BU)", want: "lets BU write"},
		{desc: "authenticated users may change the ACL", sddl: "O:BAD:(A;;WD;;;AU)", want: "lets AU write"},
		{desc: "generic write", sddl: "O:BAD:(A;;GW;;;BU)", want: "lets BU write"},
		{desc: "modify (FW)", sddl: "O:BAD:(A;;FRFW;;;BU)", want: "lets BU write"},
		{desc: "null DACL", sddl: "O:BAD:NO_ACCESS_CONTROL", want: "no ACL"},
		{desc: "no DACL", sddl: "O:BA", want: "no ACL"},
		{desc: "no owner", sddl: "D:(A;;FA;;;BA)", want: "owner cannot be read"},
		{desc: "garbage", sddl: "hello", want: "SDDL"},
		{desc: "unterminated ACE", sddl: "O:BAD:(A;;FA;;;BA", want: "SDDL"},
		{desc: "short ACE", sddl: "O:BAD:(A;;FA)", want: "fields"},
		{desc: "unknown right", sddl: "O:BAD:(A;;ZZ;;;BA)", want: "unknown right"},
		{desc: "bad hex", sddl: "O:BAD:(A;;0xZZ;;;BA)", want: "rights"},
		{desc: "no account", sddl: "O:BAD:(A;;FA;;;)", want: "names no account"},
		{desc: "two DACLs", sddl: "O:BAD:(A;;FA;;;BA)D:(A;;FA;;;WD)", want: "two DACLs"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := checkSDDL(tc.sddl, trusted...)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func FuzzCheckSDDL(f *testing.F) {
	for _, s := range []string{SDDL, "O:SYG:SYD:PAI(A;OICI;FA;;;SY)", "O:BAD:NO_ACCESS_CONTROL", "O:BAD:(A;;0x2;;;BU)S:(AU;SAFA;FA;;;WD)", "D:((", "O:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkSDDL(s, "SY", "BA")
		if err == nil {
			// Whatever is accepted has a trusted owner and a real DACL
			// without a write entry for anyone else.
			d, perr := parseSDDL(s)
			if perr != nil || (d.owner != "SY" && d.owner != "BA" && !strings.EqualFold(d.owner, "sy") && !strings.EqualFold(d.owner, "ba")) || !d.hasDACL || d.nullDACL {
				t.Fatalf("accepted %q: %+v %v", s, d, perr)
			}
		}
	})
}
