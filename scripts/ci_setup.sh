#!/usr/bin/env bash
# Installs the Debian packages the tests need. Runs as root (CI containers);
# elsewhere it uses sudo when there is one. Edit the list below.
set -euo pipefail

packages=(
  curl # HTTP checks against the running servers
  nginx-light # tests/server/nginx_test.ts: Sluice behind a reverse proxy; tests/client/peers_external_test.ts
  python3-aiohttp # tests/client/peers_external_test.ts: an aiohttp server for /usr/bin/python3
)

export DEBIAN_FRONTEND=noninteractive
if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo -n)
else
  echo "ci_setup.sh: run as root to install: ${packages[*]}" >&2
  exit 1
fi

"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
