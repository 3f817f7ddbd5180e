package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trailwatch/trailwatch/internal/dynalite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.Stop()
	removeBootstrap()
	os.Exit(code)
}

// bootstrapDir is where a test built the bootstrap ("" if none did).
var bootstrapDir string

func removeBootstrap() {
	if bootstrapDir != "" {
		_ = os.RemoveAll(filepath.Clean(bootstrapDir))
	}
}
