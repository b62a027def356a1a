package agent

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// CatalogueEntry is one check as `agentkeeper checks --json` prints it.
type CatalogueEntry struct {
	ID       CheckID  `json:"id"`
	Title    string   `json:"title"`
	Severity Status   `json:"severity"`
	OS       []string `json:"os"`
	Live     bool     `json:"live"`
	Image    bool     `json:"image"`
	Doc      string   `json:"doc"`
}

// CatalogueEntries is the catalogue, sorted by ID, as plain values.
func CatalogueEntries() []CatalogueEntry {
	defs := Catalogue()
	out := make([]CatalogueEntry, 0, len(defs))
	for _, d := range defs {
		out = append(out, CatalogueEntry{ID: d.ID, Title: d.Title, Severity: d.Severity,
			OS: append([]string{}, d.OS...), Live: d.Live, Image: d.Image, Doc: d.Doc})
	}
	return out
}

// WriteCatalogueText prints the catalogue for people: one line per check
// (id, severity, OS, modes, title), its document on the next.
func WriteCatalogueText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tOS\tMODES\tTITLE")
	for _, e := range CatalogueEntries() {
		var modes []string
		if e.Live {
			modes = append(modes, "live")
		}
		if e.Image {
			modes = append(modes, "image")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.Severity, strings.Join(e.OS, ","), strings.Join(modes, ","), e.Title)
		fmt.Fprintf(tw, "\t\t\t\t%s\n", e.Doc)
	}
	return tw.Flush()
}
