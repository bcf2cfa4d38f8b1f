#!/usr/bin/env bash
# Start dockerd when no Docker engine answers on the socket, and wait until it does.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
echo "start-docker: no engine answers; starting dockerd"
mkdir -p /var/log
# In a session of its own: Ctrl-C on `make run` (which started it) stops the stack, not the
# engine every other container of the machine runs on.
setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "start-docker: engine ready"
    exit 0
  fi
  sleep 1
done
echo "start-docker: dockerd did not answer within 60 s; its log:" >&2
tail -50 /var/log/dockerd.log >&2
exit 1
