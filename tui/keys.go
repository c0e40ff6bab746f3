package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds the key bindings; all of them are listed in the help overlay.
type KeyMap struct {
	Up, Down, Top, Bottom   key.Binding
	PageUp, PageDown, Focus key.Binding
	Filter, Sort, Clear     key.Binding
	Wire, Own, Requery      key.Binding
	Pause, Export           key.Binding
	Help, Quit, Interrupt   key.Binding
	// A replay's (tui --read), off otherwise.
	Play, Step, Faster, Slower, Jump key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:       key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		Bottom:    key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
		PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Focus:     key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "pane")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Clear:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear removed")),
		Wire:      key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wire")),
		Own:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "own queries")),
		Requery:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-query")),
		Pause:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Export:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export JSON")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Interrupt: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "interrupt (exit 130)")),
		Play:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space/p", "play/pause"), key.WithDisabled()),
		Step:      key.NewBinding(key.WithKeys("n", "right"), key.WithHelp("n/→", "step a packet"), key.WithDisabled()),
		Faster:    key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster"), key.WithDisabled()),
		Slower:    key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "slower"), key.WithDisabled()),
		Jump:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "jump to a time"), key.WithDisabled()),
	}
}

// ShortHelp is the one-line help (bubbles help.KeyMap): help and quit
// first, so that a narrow terminal keeps them.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Quit, k.Play, k.Step, k.Jump, k.Focus, k.Filter, k.Sort, k.Wire, k.Requery, k.Pause}
}

// FullHelp is the help overlay.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
		{k.Focus, k.Filter, k.Sort, k.Clear, k.Wire, k.Own},
		{k.Requery, k.Pause, k.Export, k.Help, k.Quit, k.Interrupt},
		{k.Play, k.Step, k.Faster, k.Slower, k.Jump},
	}
}
