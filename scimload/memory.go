package scimload

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MemoryHandler is the comparison peer of `make bench-scim`: a SCIM endpoint that keeps
// users in a map and serves exactly what the load mix sends (the userName existence
// check, POST /Users and PATCH of active), with bearer authentication and real JSON
// parsing and encoding, so that the gap to a database-backed server is the cost of the
// store and of the protocol's breadth, not of HTTP. Mount it at the SCIM base path.
func MemoryHandler(token string) http.Handler {
	return &memory{token: []byte("Bearer " + token), byID: map[string]*memUser{}, byName: map[string]*memUser{}}
}

type memory struct {
	token []byte

	mu     sync.RWMutex
	byID   map[string]*memUser
	byName map[string]*memUser
}

type memUser struct {
	doc     map[string]any
	version int
}

const (
	memUserURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	memListURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	memErrorURN = "urn:ietf:params:scim:api:messages:2.0:Error"
)

func (m *memory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), m.token) != 1 {
		memError(w, http.StatusUnauthorized, "invalid credentials")
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	id, hasID := strings.CutPrefix(path, "Users/")
	switch {
	case path == "Users" && r.Method == http.MethodGet:
		m.list(w, r)
	case path == "Users" && r.Method == http.MethodPost:
		m.create(w, r)
	case hasID && r.Method == http.MethodPatch:
		m.patch(w, r, id)
	default:
		memError(w, http.StatusNotFound, "not served by the in-memory peer")
	}
}

func (m *memory) list(w http.ResponseWriter, r *http.Request) {
	f := r.URL.Query().Get("filter")
	attr, val, ok := strings.Cut(f, " eq ")
	if !ok || !strings.EqualFold(strings.TrimSpace(attr), "userName") {
		memError(w, http.StatusBadRequest, "only userName eq filters are served")
		return
	}
	name, err := strconv.Unquote(strings.TrimSpace(val))
	if err != nil {
		memError(w, http.StatusBadRequest, "bad filter value")
		return
	}
	resources := []any{}
	m.mu.RLock()
	if u, ok := m.byName[strings.ToLower(name)]; ok {
		resources = append(resources, u.doc)
	}
	body, err := json.Marshal(map[string]any{"schemas": []string{memListURN}, "totalResults": len(resources),
		"startIndex": 1, "itemsPerPage": len(resources), "Resources": resources})
	m.mu.RUnlock()
	memWrite(w, http.StatusOK, body, err)
}

func (m *memory) create(w http.ResponseWriter, r *http.Request) {
	var doc map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&doc); err != nil {
		memError(w, http.StatusBadRequest, "body is not a JSON object")
		return
	}
	name, _ := doc["userName"].(string)
	if name == "" {
		memError(w, http.StatusBadRequest, "userName is required")
		return
	}
	delete(doc, "password")
	delete(doc, "groups")
	id := uuid.NewString()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	doc["id"] = id
	doc["schemas"] = []string{memUserURN}
	doc["meta"] = map[string]any{"resourceType": "User", "created": now, "lastModified": now, "version": `W/"1"`, "location": "/Users/" + id}
	key := strings.ToLower(name)
	m.mu.Lock()
	if _, taken := m.byName[key]; taken {
		m.mu.Unlock()
		memError(w, http.StatusConflict, "userName is already taken")
		return
	}
	u := &memUser{doc: doc, version: 1}
	m.byID[id], m.byName[key] = u, u
	body, err := json.Marshal(doc)
	m.mu.Unlock()
	w.Header().Set("Location", "/Users/"+id)
	memWrite(w, http.StatusCreated, body, err)
}

func (m *memory) patch(w http.ResponseWriter, r *http.Request, id string) {
	var req struct {
		Operations []struct {
			Op    string         `json:"op"`
			Path  string         `json:"path"`
			Value map[string]any `json:"value"`
		}
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		memError(w, http.StatusBadRequest, "body is not a PatchOp")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.byID[id]
	if !ok {
		memError(w, http.StatusNotFound, "no such user")
		return
	}
	for _, op := range req.Operations {
		if !strings.EqualFold(op.Op, "replace") || op.Path != "" {
			memError(w, http.StatusBadRequest, "only replace without a path is served")
			return
		}
		for k, v := range op.Value {
			u.doc[k] = v
		}
	}
	u.version++
	meta := u.doc["meta"].(map[string]any)
	meta["version"] = `W/"` + strconv.Itoa(u.version) + `"`
	meta["lastModified"] = time.Now().UTC().Format(time.RFC3339Nano)
	body, err := json.Marshal(u.doc)
	memWrite(w, http.StatusOK, body, err)
}

func memWrite(w http.ResponseWriter, status int, body []byte, err error) {
	if err != nil {
		memError(w, http.StatusInternalServerError, "encoding failed")
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	w.Write(body)
}

func memError(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(map[string]any{"schemas": []string{memErrorURN}, "status": strconv.Itoa(status), "detail": detail})
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	w.Write(body)
}
