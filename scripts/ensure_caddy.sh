#!/usr/bin/env bash
# The router tests and `make split` run Debian's Caddy (deploy/Caddyfile); install it when it is missing.
exec "$(dirname "$0")/ensure_deb.sh" caddy caddy "the router tests and make split"
