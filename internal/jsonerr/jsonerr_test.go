package jsonerr_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/trailwatch/trailwatch/internal/jsonerr"
)

func TestDescribe(t *testing.T) {
	type plain struct {
		Name string `json:"name"`
	}
	var aux struct{ plain }
	var rec struct {
		Name string `json:"name"`
	}
	for _, tt := range []struct {
		name, input string
		into        any
		want        string
	}{
		{"wrong field type", `{"name": 3}`, &rec, `field "name": got JSON number, want string`},
		{"embedded plain struct", `{"name": true}`, &aux, `field "name": got JSON bool, want string`},
		{"not an object", `[1]`, &rec, `got JSON array, want an object`},
		{"syntax error unchanged", `{"name":`, &rec, `unexpected end of JSON input`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.input), tt.into)
			if err == nil {
				t.Fatal("no error")
			}
			if got := jsonerr.Describe(err).Error(); got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
		})
	}
	if jsonerr.Describe(errors.New("x")).Error() != "x" {
		t.Error("a non-JSON error changed")
	}
}
