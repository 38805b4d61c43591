package scimlog

import "testing"

func TestRedactJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"password value", `{"userName":"a","password":"hunter2"}`, `{"userName":"a","password":"[REDACTED]"}`},
		{"spacing kept", `{ "password" : "hunter2" , "x": 1 }`, `{ "password" : "[REDACTED]" , "x": 1 }`},
		{"key in any case", `{"Password":"x","PASSWORD":"y"}`, `{"Password":"[REDACTED]","PASSWORD":"[REDACTED]"}`},
		{"escaped key", `{"p\u0061ssword":"x"}`, `{"p\u0061ssword":"[REDACTED]"}`},
		{"nested object value", `{"password":{"value":"x","hash":[1,"}"]},"a":2}`, `{"password":"[REDACTED]","a":2}`},
		{"PATCH path password", `{"Operations":[{"op":"replace","path":"password","value":"x"}]}`, `{"Operations":[{"op":"replace","path":"password","value":"[REDACTED]"}]}`},
		{"PATCH path after value", `{"Operations":[{"value":"x","op":"Replace","Path":"password"},{"op":"add","path":"title","value":"CTO"}]}`, `{"Operations":[{"value":"[REDACTED]","op":"Replace","Path":"password"},{"op":"add","path":"title","value":"CTO"}]}`},
		{"PATCH other path", `{"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`, `{"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`},
		{"PATCH value object", `{"Operations":[{"op":"replace","value":{"password":"x","active":true}}]}`, `{"Operations":[{"op":"replace","value":{"password":"[REDACTED]","active":true}}]}`},
		{"token keys", `{"apiToken":"x","client_secret":"y","accessToken":12}`, `{"apiToken":"[REDACTED]","client_secret":"[REDACTED]","accessToken":"[REDACTED]"}`},
		{"credential-looking values", `{"note":"Bearer eyJhbGciOiJIUzI1NiJ9.e30","v":["oks_abc_def","Basic dTpwYXNz","SSWS 00abcdefghijklmnopqrstuvwxyz","plain"]}`, `{"note":"[REDACTED]","v":["[REDACTED]","[REDACTED]","[REDACTED]","plain"]}`},
		{"words after a scheme", `{"title":"Bearer of news","dept":"Basic research"}`, `{"title":"Bearer of news","dept":"Basic research"}`},
		{"escaped quote in value", `{"password":"a\"b","x":"y"}`, `{"password":"[REDACTED]","x":"y"}`},
		{"cut inside the password", `{"userName":"a","password":"hunt`, `{"userName":"a","password":"[REDACTED]"`},
		{"cut after the key", `{"password":`, `{"password":"[REDACTED]"`},
		{"cut inside a nested value", `{"password":{"v":"x`, `{"password":"[REDACTED]"`},
		{"not JSON", `userName=a&password=b`, `userName=a&password=b`},
		{"nothing to redact", `{"userName":"a@example.com","title":"Basic research"}`, `{"userName":"a@example.com","title":"Basic research"}`},
		{"upper-case key", `{"PassWord":"x"}`, `{"PassWord":"[REDACTED]"}`},
		{"empty", ``, ``},
	}
	for _, tc := range cases {
		if got := string(redactJSON([]byte(tc.in))); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestRedactQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{`filter=userName%20eq%20%22a%22&count=1`, `filter=userName%20eq%20%22a%22&count=1`},
		{`access_token=abc&x=1`, `access_token=%5BREDACTED%5D&x=1`},
		{`authorization=Bearer+abc`, `authorization=%5BREDACTED%5D`},
		{`h=Bearer+eyJhbGciOiJIUzI1NiJ9.e30`, `h=%5BREDACTED%5D`},
		{`flag&Password=x`, `flag&Password=%5BREDACTED%5D`},
		{`p%61ssword=x`, `p%61ssword=%5BREDACTED%5D`},
		{`filter=userName%20eq%20%22a%40b.c%22`, `filter=userName%20eq%20%22a%40b.c%22`},
	}
	for _, tc := range cases {
		if got := redactQuery(tc.in); got != tc.want {
			t.Errorf("redactQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCapBody(t *testing.T) {
	cases := []struct {
		in       string
		max      int
		want     string
		wantCut  bool
		incoming bool
	}{
		{"abc", 3, "abc", false, false},
		{"abcd", 3, "abc", true, false},
		{"abc", 3, "abc", true, true}, // cut already at capture
		{"aé", 2, "a", true, false},   // never half a rune
	}
	for _, tc := range cases {
		got, cut := capBody([]byte(tc.in), tc.max, tc.incoming)
		if got != tc.want || cut != tc.wantCut {
			t.Errorf("capBody(%q, %d, %v) = %q, %v; want %q, %v", tc.in, tc.max, tc.incoming, got, cut, tc.want, tc.wantCut)
		}
	}
}
