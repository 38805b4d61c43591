package syncer

import "sort"

// Side names one end of a synchronisation.
type Side string

// The two sides.
const (
	SideApp  Side = "app"
	SideOkta Side = "okta"
)

// Conflict is a value changed on both sides since the last synchronisation.
type Conflict struct {
	Key    string `json:"key"`
	App    any    `json:"app"`
	Okta   any    `json:"okta"`
	Base   any    `json:"base"`
	Winner Side   `json:"winner"`
}

// Merge is the outcome of a three-way merge of one user.
type Merge struct {
	// ToOkta and ToApp hold the values to write on each side (nil clears a value).
	ToOkta map[string]any
	ToApp  map[string]any
	// Conflicts lists the keys changed on both sides, with how each was settled.
	Conflicts []Conflict
	// Base is the new snapshot once the writes are done: the agreed value of every key.
	Base map[string]any
}

// MergeInput is what a three-way merge compares.
type MergeInput struct {
	Keys []string
	App  map[string]any
	Okta map[string]any
	// Base is the last synchronised snapshot; HasBase is false for a user never
	// synchronised, whose differences go to NoBaseWinner.
	Base    map[string]any
	HasBase bool
	// Policy settles conflicts; AppNewer tells newest-wins which side changed last.
	Policy       ConflictPolicy
	AppNewer     bool
	NoBaseWinner Side
}

// ThreeWay merges one user's values key by key: a key changed on one side only (compared
// with the base) flows to the other side; a key changed on both sides to different
// values is a conflict settled by the policy; equal values need nothing.
func ThreeWay(in MergeInput) Merge {
	m := Merge{ToOkta: map[string]any{}, ToApp: map[string]any{}, Base: map[string]any{}}
	keys := append([]string(nil), in.Keys...)
	sort.Strings(keys)
	for _, k := range keys {
		a, o := in.App[k], in.Okta[k]
		if same(a, o) {
			if !empty(a) {
				m.Base[k] = a
			}
			continue
		}
		var winner Side
		b, inBase := in.Base[k]
		switch {
		case !in.HasBase && empty(a):
			winner = SideOkta // first link: each side fills the other's gaps
		case !in.HasBase && empty(o):
			winner = SideApp
		case !in.HasBase:
			winner = in.NoBaseWinner
		case same(a, b) || (!inBase && empty(a)):
			winner = SideOkta // only Okta changed
		case same(o, b) || (!inBase && empty(o)):
			winner = SideApp // only the app changed
		default:
			winner = in.Policy.winner(in.AppNewer)
			m.Conflicts = append(m.Conflicts, Conflict{Key: k, App: a, Okta: o, Base: b, Winner: winner})
		}
		if winner == SideOkta {
			m.ToApp[k] = o
			if !empty(o) {
				m.Base[k] = o
			}
		} else {
			m.ToOkta[k] = a
			if !empty(a) {
				m.Base[k] = a
			}
		}
	}
	return m
}
