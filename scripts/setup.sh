#!/usr/bin/env bash
# Installs everything cloudnet needs on a fresh Debian machine (as root), then builds it.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  iproute2 nftables conntrack iputils-ping procps curl socat
  postgresql
  haproxy keepalived nginx-light
  bind9-dnsutils dnsperf dnsmasq-base prometheus wrk
  python3-openstackclient python3-neutronclient python3-octaviaclient python3-barbicanclient
  tempest neutron-tempest-plugin octavia-tempest-plugin
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Any kubectl will do (some machines carry a newer one from another source); Debian's own is kubernetes-client.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Services must not start in the root namespace: tests and the lab start their own copies.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  rm -f /usr/sbin/policy-rc.d
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
