package privdir

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// noFollow: CREATE_NEW never follows a link at the name (it fails with
// ERROR_FILE_EXISTS).
const noFollow = 0

func mkdir(dir string) error {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	for _, sddl := range []string{SDDL, SDDL[len("O:BA"):]} {
		// Without the owner when the token may not set it (it then
		// defaults to the creator: SYSTEM or Administrators when elevated).
		sd, err := windows.SecurityDescriptorFromString(sddl)
		if err != nil {
			return err
		}
		sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
		err = windows.CreateDirectory(p, sa)
		switch err {
		case nil:
			return setSD(dir, sd)
		case windows.ERROR_ALREADY_EXISTS:
			return os.ErrExist
		case windows.ERROR_INVALID_OWNER:
			continue
		}
		return err
	}
	return fmt.Errorf("cannot create it with owner Administrators or the running user")
}

// setSD applies sd's owner (when it has one) and protected DACL to dir
// again after creating it: the descriptor given to CreateDirectory already
// holds them on Windows; this also makes them stick where the file system
// layer only keeps what is set explicitly (Wine).
func setSD(dir string, sd *windows.SECURITY_DESCRIPTOR) error {
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION | windows.PROTECTED_DACL_SECURITY_INFORMATION)
	owner, _, err := sd.Owner()
	if err == nil && owner != nil {
		info |= windows.OWNER_SECURITY_INFORMATION
	} else {
		owner = nil
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, info, owner, nil, dacl, nil); err != nil {
		return fmt.Errorf("set the ACL of %s: %w", dir, err)
	}
	return nil
}

func check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&(os.ModeSymlink|os.ModeIrregular) != 0 {
		return fmt.Errorf("it is a link or junction")
	}
	if !fi.IsDir() {
		return fmt.Errorf("it is not a directory")
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read its security descriptor: %w", err)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("read the running user: %w", err)
	}
	// SDDL names SYSTEM and Administrators by alias, other accounts by SID.
	return checkSDDL(sd.String(), "SY", "S-1-5-18", "BA", "S-1-5-32-544", u.User.Sid.String())
}
