#!/usr/bin/env bash
# The router tests and `make split` run Debian's Caddy (deploy/Caddyfile); install it when it is missing.
set -euo pipefail
if command -v caddy > /dev/null; then
  exit 0
fi
echo "installing Debian's caddy for the router tests and make split"
sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  sudo_cmd="sudo"
fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq caddy
