#!/usr/bin/env bash
# The local lab. For now: the control plane (cloudnet server on SQLite in .lab/), in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .lab
listen=${CLOUDNET_LISTEN:-127.0.0.1:9696}
cat <<MSG
cloudnet lab: control plane on http://${listen} (state in $(pwd)/.lab; Ctrl-C stops it)

Point the openstack CLI at it from another shell in $(pwd):
  eval "\$(node dist/src/cli/main.js openrc --url http://${listen} --password-file .lab/admin-password)"
  openstack network create demo
  openstack subnet create --network demo --subnet-range 198.18.1.0/24 demo-subnet
  openstack port create --network demo demo-port
MSG
exec node dist/src/cli/main.js server --listen "$listen" --db sqlite:.lab/cloudnet.db
