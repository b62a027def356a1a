//go:build !windows

package filever

// Read returns the version resource of the file at host path p. Off Windows
// it is ParseFile: the pure-Go parser.
func Read(p string) (Info, error) {
	return ParseFile(p)
}
