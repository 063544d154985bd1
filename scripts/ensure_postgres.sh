#!/usr/bin/env bash
# Start this machine's PostgreSQL if it is down, then wait until it accepts connections.
set -euo pipefail
ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ready; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "PostgreSQL is down; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
for _ in $(seq 1 60); do ready && exit 0; sleep 0.5; done
echo "PostgreSQL is not reachable on 127.0.0.1:5432; set TEST_DATABASE_URL or start it." >&2
exit 1
