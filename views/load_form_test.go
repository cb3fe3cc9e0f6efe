package views

import (
	"strings"
	"testing"
	"time"
)

func TestLoadFormAsksForTheTokenWhenRequired(t *testing.T) {
	tests := []struct {
		name      string
		settings  LoadSenderSettings
		wantToken bool
	}{
		{name: "open in dev", settings: LoadSenderSettings{Enabled: true, MaxConcurrency: 4, MaxDuration: time.Minute, MaxRate: 1000}},
		{name: "token required", settings: LoadSenderSettings{Enabled: true, MaxConcurrency: 4, MaxDuration: time.Minute, MaxRate: 1000, TokenRequired: true}, wantToken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := render(t, RoomData{Room: "r", LoadSender: tt.settings})
			fields := all(doc, "load-token")
			if got := len(fields) == 1; got != tt.wantToken {
				t.Fatalf("token field shown = %v, want %v", got, tt.wantToken)
			}
			if tt.wantToken {
				// A password field, never filled in by the server.
				if typ, _ := attr(fields[0], "type"); typ != "password" {
					t.Errorf("token field type = %q, want password", typ)
				}
				if v, ok := attr(fields[0], "value"); ok {
					t.Errorf("token field has a value %q", v)
				}
				// Unnamed, so a native submit (before the script loads) leaves it out of the URL.
				if n, ok := attr(fields[0], "name"); ok {
					t.Errorf("token field is named %q", n)
				}
			}
			if got := text(one(t, doc, "load-pace")); !strings.Contains(got, "1000 barrages a second") {
				t.Errorf("pace note = %q", got)
			}
		})
	}
}
