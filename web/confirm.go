package web

import (
	"net/http"
	"net/url"
)

type confirmData struct {
	Question string
	Action   string
	Fields   url.Values // the form's fields, posted again with confirm=yes
	Back     string
}

// confirmed reports whether a state-changing form was confirmed. The pages' script asks
// in a dialog and sends confirm=yes; without the script, this renders a page that asks,
// and the caller returns.
func (h *Handler) confirmed(w http.ResponseWriter, r *http.Request, question, back string) bool {
	if r.PostFormValue("confirm") == "yes" {
		return true
	}
	fields := url.Values{}
	for k, v := range r.PostForm {
		if k != "csrf" && k != "confirm" {
			fields[k] = v
		}
	}
	h.render(w, r, http.StatusOK, "confirm", page{Title: "Please confirm", Section: sectionOf(back),
		Data: confirmData{Question: question, Action: r.URL.Path, Fields: fields, Back: back}})
	return false
}
