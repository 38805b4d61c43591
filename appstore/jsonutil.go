package appstore

import (
	"bytes"
	"encoding/json"

	"github.com/oktasync/oktasync/errkind"
)

func marshalJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", errkind.E("appstore", errkind.Invalid, "value cannot be stored as JSON", err)
	}
	return string(b), nil
}

// decodeAttrs decodes a stored attribute document, keeping numbers as json.Number so
// that integers round-trip exactly.
func decodeAttrs(s string) (map[string]any, error) {
	m := map[string]any{}
	if s == "" {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, errkind.E("appstore", errkind.Permanent, "corrupt attribute document", err)
	}
	return m, nil
}

// jsonEqual compares two values by their JSON encoding, so that a float64 and a
// json.Number of the same value, or maps built in different orders, compare equal.
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if bytes.Equal(ja, jb) {
		return true
	}
	// Re-decode to normalise number formatting (1 vs 1.0).
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	na, _ := json.Marshal(va)
	nb, _ := json.Marshal(vb)
	return bytes.Equal(na, nb)
}
