package config

import (
	"slices"
	"strings"
	"testing"
)

const goodToken = "0123456789abcdef0123456789abcdef" // 32 characters

func TestLoadSenderFollowsRoleAndToken(t *testing.T) {
	tests := []struct {
		name     string
		role     Role
		env      map[string]string
		wantLoad bool
	}{
		{name: "dev without token is on", role: RoleDev, wantLoad: true},
		{name: "dev switched off", role: RoleDev, env: map[string]string{"BARRAGE_LOAD_SENDER": "false"}, wantLoad: false},
		{name: "homepage without token is off", role: RoleHomePage, env: map[string]string{"KAFKA_SERVER": "k:9092"}, wantLoad: false},
		{name: "homepage with token is on", role: RoleHomePage, env: map[string]string{"KAFKA_SERVER": "k:9092", "BARRAGE_ADMIN_TOKEN": goodToken}, wantLoad: true},
		{name: "homepage with token switched off", role: RoleHomePage, env: map[string]string{"KAFKA_SERVER": "k:9092", "BARRAGE_ADMIN_TOKEN": goodToken, "BARRAGE_LOAD_SENDER": "false"}, wantLoad: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.role, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.HomePage.LoadSender != tt.wantLoad {
				t.Fatalf("load sender = %v, want %v", c.HomePage.LoadSender, tt.wantLoad)
			}
			if c.HomePage.LoadMaxRate != 1000 {
				t.Fatalf("default max rate = %d", c.HomePage.LoadMaxRate)
			}
		})
	}
}

func TestAdminTokenErrors(t *testing.T) {
	tests := []struct {
		name      string
		role      Role
		env       map[string]string
		wantNames []string
	}{
		{name: "load sender on without token outside dev", role: RoleHomePage,
			env:       map[string]string{"KAFKA_SERVER": "k:9092", "BARRAGE_LOAD_SENDER": "true"},
			wantNames: []string{"BARRAGE_LOAD_SENDER", "BARRAGE_ADMIN_TOKEN"}},
		{name: "short token", role: RoleDev, env: map[string]string{"BARRAGE_ADMIN_TOKEN": "hunter2-short"},
			wantNames: []string{"BARRAGE_ADMIN_TOKEN", "at least 32"}},
		{name: "token with a space", role: RoleDev, env: map[string]string{"BARRAGE_ADMIN_TOKEN": "0123456789abcdef 0123456789abcdef"},
			wantNames: []string{"BARRAGE_ADMIN_TOKEN"}},
		{name: "rate zero", role: RoleDev, env: map[string]string{"BARRAGE_LOAD_MAX_RATE": "0"},
			wantNames: []string{"BARRAGE_LOAD_MAX_RATE"}},
		{name: "rate not a number", role: RoleDev, env: map[string]string{"BARRAGE_LOAD_MAX_RATE": "fast"},
			wantNames: []string{"BARRAGE_LOAD_MAX_RATE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.role, env(tt.env))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, n := range tt.wantNames {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("err = %q, want it to name %s", err, n)
				}
			}
			if tok := tt.env["BARRAGE_ADMIN_TOKEN"]; tok != "" && strings.Contains(err.Error(), tok) {
				t.Errorf("the error shows the token: %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestAdminTokenIsASecret(t *testing.T) {
	c, err := Parse(RoleDev, env(map[string]string{"BARRAGE_ADMIN_TOKEN": goodToken}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Operator.Token != goodToken || !slices.Contains(c.Secrets(), goodToken) {
		t.Fatalf("token %q, secrets %v", c.Operator.Token, c.Secrets())
	}
}
