package scimfilter_test

import (
	"fmt"

	"github.com/oktasync/oktasync/scimfilter"
)

func ExampleParse() {
	e, err := scimfilter.Parse(`userName Eq "bjensen" and emails[type eq "work" or primary eq TRUE]`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	scimfilter.Walk(e, func(e scimfilter.Expr) bool {
		if c, ok := e.(*scimfilter.Compare); ok {
			fmt.Printf("%s %s %v\n", c.Path, c.Op, c.Value)
		}
		return true
	})
	// Output:
	// userName eq "bjensen" and emails[type eq "work" or primary eq true]
	// userName eq bjensen
	// type eq work
	// primary eq true
}

func ExampleParse_error() {
	_, err := scimfilter.Parse(`userName eqq "bjensen"`)
	if e, ok := err.(*scimfilter.Error); ok {
		fmt.Println(e.Pos, e.Detail)
	}
	// Output:
	// 9 unknown operator "eqq" at position 9
}

func ExampleParsePath() {
	for _, s := range []string{
		`emails[type eq "work"].value`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
	} {
		p, err := scimfilter.ParsePath(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("URN=%q Attr=%q Sub=%q Filter=%v\n", p.URN, p.Attr, p.Sub, p.Filter)
	}
	// Output:
	// URN="" Attr="emails" Sub="value" Filter=type eq "work"
	// URN="urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" Attr="manager" Sub="value" Filter=<nil>
	// URN="urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" Attr="" Sub="" Filter=<nil>
}
