package tui

import "charm.land/lipgloss/v2"

// Styles holds every style the view uses. The program's colour profile
// decides whether colours reach the terminal (none with NO_COLOR or when
// not a terminal).
type Styles struct {
	Title, Header, Selected, Removed, Dim lipgloss.Style
	OK, Warn, Bad                         lipgloss.Style
	Pane, PaneTitle, Hint                 lipgloss.Style
}

// DefaultStyles returns the standard styles.
func DefaultStyles() Styles {
	return Styles{
		Title:     lipgloss.NewStyle().Bold(true),
		Header:    lipgloss.NewStyle().Bold(true).Underline(true),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Removed:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Dim:       lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		OK:        lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:      lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		Bad:       lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		Pane:      lipgloss.NewStyle().PaddingLeft(1),
		PaneTitle: lipgloss.NewStyle().Bold(true),
		Hint:      lipgloss.NewStyle().Foreground(lipgloss.Color("6")),
	}
}
