#!/bin/sh
# The accounts demo: busybox nc answers each connection with serve.sh (the account API of
# the seed and a login check) on 8080. Accounts live on the volume at /data/accounts.
set -e
mkdir -p /data/accounts
exec nc -ll -p 8080 -e /serve.sh
