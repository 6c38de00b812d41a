#!/usr/bin/env bash
# The local lab: the whole cloud on this machine, hosts and VMs as network namespaces (cloudnet lab up),
# in the foreground until Ctrl-C, which removes everything it made. State and logs in .lab/.
# Options go to `cloudnet lab up`, e.g.  npm run lab -- --hosts 5
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/src/cli/main.js lab up --dir .lab "$@"
