package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds the key bindings; all of them are listed in the help overlay.
type KeyMap struct {
	Up, Down, Top, Bottom key.Binding
	Filter, Sort, Clear   key.Binding
	Wire, Requery, Pause  key.Binding
	Export, Help, Quit    key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "first")),
		Bottom:  key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort: name, type, age")),
		Clear:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear removed")),
		Wire:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wire pane")),
		Requery: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-query selected")),
		Pause:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause updates")),
		Export:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export JSON snapshot")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line help (bubbles help.KeyMap).
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Filter, k.Wire, k.Requery, k.Pause, k.Help, k.Quit}
}

// FullHelp is the help overlay.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.Filter, k.Sort, k.Clear, k.Wire},
		{k.Requery, k.Pause, k.Export, k.Help, k.Quit},
	}
}
