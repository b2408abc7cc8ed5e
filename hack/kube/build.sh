#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the
# Go module proxy, once per version, into ${WEFT_CACHE:-~/.cache/weft}/kube/<version>/.
# `build.sh node` builds the real node's kubelet and kube-proxy (same module) and CoreDNS
# (hack/kube/coredns: only the plugins the cluster DNS needs) into <version>-coredns-<version>/.
# Prints the cache directory on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kube_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == "k8s.io/kubernetes" {print $3; exit}' "$here/go.mod")
kwok_version=v0.7.0 # v0.8+ needs stage files; v0.7.0 has its stages built in
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
dest="${WEFT_CACHE:-$HOME/.cache/weft}/kube/${kube_version}-kwok-${kwok_version}"

# `build.sh kubectl` builds only kubectl, for machines that lack one.
if [ "${1:-}" = kubectl ]; then bins=(kubectl); fi
if [ "${1:-}" = node ]; then
  coredns_version=$(awk '$1 == "require" && $2 == "github.com/coredns/coredns" {print $3}' "$here/coredns/go.mod")
  dest="${WEFT_CACHE:-$HOME/.cache/weft}/kube/${kube_version}-coredns-${coredns_version}"
  bins=(kubelet kube-proxy coredns)
fi
# A cached binary counts only if it runs (a truncated file execs, then dies by a signal with nothing logged).
runs() {
  case "$1" in
    coredns) flag=(-version) ;;
    kubectl) flag=(version --client) ;;
    *) flag=(--version) ;;
  esac
  timeout 20 "$dest/$1" "${flag[@]}" >/dev/null 2>&1
}
have_all() { for b in "${bins[@]}"; do [ -x "$dest/$b" ] && runs "$b" || return 1; done; }
if have_all; then echo "$dest"; exit 0; fi
if [ -d "$dest" ]; then echo "build.sh: $dest is incomplete or a binary there doesn't run; building again" >&2; fi

command -v go >/dev/null || { echo "build.sh: Go is needed to build Kubernetes (apt-get install golang, or see go.dev)" >&2; exit 1; }
tmp=$(mktemp -d "${dest}.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$dest")"; mktemp -d "${dest}.tmp.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT

minor=${kube_version#v1.}; minor=${minor%%.*}
ver_pkg=k8s.io/component-base/version
ldflags="-s -w -X $ver_pkg.gitVersion=$kube_version -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$minor"
ldflags+=" -X $ver_pkg.gitTreeState=clean -X $ver_pkg.buildDate=1970-01-01T00:00:00Z"

start=$SECONDS
# go build is silent for minutes: say that it is still going.
( while sleep 30; do echo "build.sh: still building ($((SECONDS - start))s)..." >&2; done ) &
heartbeat=$!
trap 'kill $heartbeat 2>/dev/null; rm -rf "$tmp"' EXIT
if [ "${bins[*]}" = kubectl ]; then
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" k8s.io/kubernetes/cmd/kubectl)
  mkdir -p "$dest" && mv -f "$tmp/kubectl" "$dest/kubectl"
  echo "$dest"
  exit 0
fi
if [ "${1:-}" = node ]; then
  echo "build.sh: building kubelet, kube-proxy $kube_version and CoreDNS $coredns_version (first time only; a few minutes)..." >&2
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
  (cd "$here/coredns" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/coredns" .)
  mkdir -p "$dest"
  for b in "${bins[@]}"; do mv -f "$tmp/$b" "$dest/$b"; done
  echo "build.sh: node binaries built in $((SECONDS - start))s: $dest" >&2
  echo "$dest"
  exit 0
fi
echo "build.sh: building Kubernetes $kube_version and etcd (first time only; about 10-20 min on 2 cores)..." >&2
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler)
echo "build.sh: Kubernetes built in $((SECONDS - start))s; building etcd..." >&2
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
echo "build.sh: building kwok $kwok_version..." >&2
CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-trimpath go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
mkdir -p "$dest"
for b in "${bins[@]}"; do mv -f "$tmp/$b" "$dest/$b"; done
echo "build.sh: done in $((SECONDS - start))s: $dest" >&2
echo "$dest"
