//go:build tools

// Package tools pins h2spec and its dependencies: h2spec v2.2.1 predates Go modules (it has no go.mod), so
// `go install …@v2.2.1` would take whatever its imports' latest versions are. go.sum here fixes them.
package tools

import _ "github.com/summerwind/h2spec/cmd/h2spec"
