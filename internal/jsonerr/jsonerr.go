// Package jsonerr turns encoding/json errors into messages that name the
// field, so a log line says what was wrong without dumping the input.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Describe returns err with a message naming the field and the JSON type
// found ("field \"eventName\": got JSON number, want string"); other errors
// come back unchanged. Decoders that embed their type in an auxiliary
// struct named "plain" get the prefix removed.
func Describe(err error) error {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return err
	}
	if typeErr.Field == "" {
		return fmt.Errorf("got JSON %s, want an object", typeErr.Value)
	}
	return fmt.Errorf("field %q: got JSON %s, want %s", strings.TrimPrefix(typeErr.Field, "plain."), typeErr.Value, typeErr.Type)
}
