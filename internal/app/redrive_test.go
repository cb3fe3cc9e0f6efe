package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRedriveRefusesBadFlags: a mistyped or unbounded redrive stops before it touches
// Kafka, with one line that says what to fix.
func TestRedriveRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no brokers", []string{"redrive"}, nil, "KAFKA_SERVER"},
		{"follow without an end", []string{"redrive", "-follow"}, map[string]string{"KAFKA_SERVER": "127.0.0.1:1"}, "-follow needs -max or -for"},
		{"negative max", []string{"redrive", "-max", "-1"}, map[string]string{"KAFKA_SERVER": "127.0.0.1:1"}, "must not be negative"},
		{"unknown flag", []string{"redrive", "-rooms", "x"}, map[string]string{"KAFKA_SERVER": "127.0.0.1:1"}, "flag provided but not defined"},
		{"stray argument", []string{"redrive", "lobby"}, map[string]string{"KAFKA_SERVER": "127.0.0.1:1"}, `unexpected argument "lobby"`},
		{"bad duration", []string{"redrive", "-for", "soon"}, map[string]string{"KAFKA_SERVER": "127.0.0.1:1"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want it to say %q", err, tt.want)
			}
		})
	}
}
