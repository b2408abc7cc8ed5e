#!/usr/bin/env bash
# Everything `npm test` needs beyond `npm ci`, installed or built once and cached by version:
# Debian packages (as root; otherwise it stops and prints the command), Prometheus's Python
# parser, Kubernetes and the real node's binaries from the Go module proxy (hack/kube/build.sh),
# kubectl, and the images (npm run image). `npm test` runs it first, so on a fresh machine
# `npm ci && npm test` is all there is. WEFT_REAL_NODE=0 skips what only the real node needs.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '== setup: %s (%ss)\n' "$*" "$SECONDS" >&2; }
root=false; [ "$(id -u)" = 0 ] && root=true
real_node=${WEFT_REAL_NODE:-$([ "$root" = true ] && echo 1 || echo 0)}

# Debian packages: the e2e browser, the real node (containerd, runc, CNI plugins, iptables,
# iproute2), gcc with static libc for the images' small C programs, and redis-server for the videos demo.
pkgs=(chromium python3-pip gcc libc6-dev binutils redis-server)
if [ "$real_node" = 1 ]; then pkgs+=(containerd runc containernetworking-plugins); fi
# The interception suite (as root) makes network namespaces and iptables rules; gcc above also builds the
# original-destination addon.
if [ "$root" = true ]; then pkgs+=(iptables iproute2); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$root" != true ]; then
    echo "setup: missing Debian packages. Run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    [ "$real_node" = 1 ] || exit 1
    echo "setup: (or WEFT_REAL_NODE=0 to test without the real node)" >&2
    exit 1
  fi
  step "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  step "Prometheus's reference parser (the metrics test checks the proxy's exposition with it)"
  python3 -m pip install --quiet --disable-pip-version-check prometheus-client==0.26.0 ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages prometheus-client==0.26.0
fi

step "Kubernetes from the Go module proxy (cached by version)"
bash hack/kube/build.sh >/dev/null

step "h2spec from the Go module proxy (cached by version; the h2spec suite runs it)"
bash hack/h2spec/build.sh >/dev/null
if [ "$real_node" = 1 ]; then
  step "kubelet, kube-proxy and CoreDNS for the real node (cached by version)"
  bash hack/kube/build.sh node >/dev/null
fi

if ! command -v kubectl >/dev/null; then
  step "kubectl (not on this machine: building it from the same module)"
  dir=$(bash hack/kube/build.sh kubectl)
  if [ "$root" = true ]; then ln -sf "$dir/kubectl" /usr/local/bin/kubectl; else
    echo "setup: kubectl is in $dir: add it to PATH (export PATH=$dir:\$PATH)" >&2
    exit 1
  fi
fi

step "build"
npm run build --silent
step "images (npm run image; cached by content)"
node dist/hack/image/main.js >&2
# The same package as another version, for the real node's proxy upgrade (test/node/upgrade.ts).
node dist/hack/image/main.js --version "$(node -p 'require("./package.json").version')-next" >&2
step "done"
