#!/usr/bin/env bash
# Install a Debian package the tests start when its command is missing: scripts/ensure_deb.sh COMMAND PACKAGE WHY
set -euo pipefail
command=$1 package=$2 why=$3
if command -v "$command" > /dev/null; then
  exit 0
fi
echo "installing Debian's $package for $why"
sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  sudo_cmd="sudo"
fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package"
