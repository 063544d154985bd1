#!/usr/bin/env bash
# The database-outage tests put Debian's socat between a replica and PostgreSQL (tests/servers/tcp_proxy.py).
exec "$(dirname "$0")/ensure_deb.sh" socat socat "the database-outage tests"
