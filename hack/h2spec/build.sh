#!/usr/bin/env bash
# Builds h2spec (the HTTP/2 conformance tester) from the Go module proxy, once per version, into
# ${WEFT_CACHE:-~/.cache/weft}/tools/h2spec-<version>/h2spec, with the dependency versions pinned in go.sum here.
# Prints the binary's path on stdout; progress goes to stderr. proxy/engine/e2e/h2spec.test.ts runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1 == "require" && $2 == "github.com/summerwind/h2spec" {print $3}' "$here/go.mod")
version=${version%+incompatible}
dest="${WEFT_CACHE:-$HOME/.cache/weft}/tools/h2spec-${version}"
if [ -x "$dest/h2spec" ]; then echo "$dest/h2spec"; exit 0; fi
command -v go >/dev/null || { echo "h2spec/build.sh: Go is needed to build h2spec (apt-get install golang, or see go.dev)" >&2; exit 1; }
mkdir -p "$dest"
echo "h2spec/build.sh: building h2spec $version from the Go module proxy..." >&2
(cd "$here" && go build -trimpath -ldflags "-s -w" -o "$dest/h2spec.tmp" github.com/summerwind/h2spec/cmd/h2spec)
mv "$dest/h2spec.tmp" "$dest/h2spec"
echo "$dest/h2spec"
