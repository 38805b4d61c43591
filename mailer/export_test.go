package mailer

import "net/textproto"

func textprotoError(code int) textproto.Error { return textproto.Error{Code: code, Msg: "x"} }
