#!/usr/bin/env bash
# Installs everything Shoal needs on Debian 12, as root, and builds it.
# Idempotent: a second run changes nothing. Downloads only from Debian's
# package mirrors and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo deploy/install.sh)" >&2
  exit 2
fi

PACKAGES=(
  etcd-server etcd-client          # the control plane's store
  runc                             # the OCI runtime the agent drives
  busybox-static                   # the test and example image's one binary
  docker-registry skopeo umoci     # a local OCI registry and the tools that build and push images
  containernetworking-plugins      # CNI bridge/host-local/loopback/portmap for pod networks
  iproute2 iptables util-linux     # network namespaces, routes, service rules, nsenter
  prometheus                       # scrapes every component; also used by the tests
  ca-certificates
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl: keep the machine's own (newer) kubectl; otherwise Debian's client.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The packaged services listen on public ports with the Debian defaults;
# Shoal starts its own instances on loopback instead.
for svc in etcd docker-registry prometheus prometheus-node-exporter; do
  if systemctl list-unit-files "$svc.service" >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

if ! command -v node >/dev/null 2>&1; then
  echo "install.sh: Node.js >= 20.19 is required" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
# `shoal` on the PATH, pointing at this checkout's build.
ln -sf "$(pwd)/dist/cli/main.js" /usr/local/bin/shoal
echo "shoal installed: $(shoal version --client)"
