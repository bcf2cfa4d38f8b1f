#!/bin/sh
# The Calendar service: Radicale as the `radicale` user, on 5232, with /etc/radicale/config.
# /var/lib/radicale is the service's volume: the collections (owned by radicale) and the
# users file (root's, 0644: pic-store's `calendar` account manager renames a new one over it
# as root, Radicale only reads it, on every login).
set -e
mkdir -p /var/lib/radicale/collections
[ -e /var/lib/radicale/users ] || : > /var/lib/radicale/users
chmod 0755 /var/lib/radicale
chmod 0644 /var/lib/radicale/users
# A restored backup may come back with other owners: the collections are Radicale's.
chown -R radicale:radicale /var/lib/radicale/collections
exec setpriv --reuid=radicale --regid=radicale --init-groups \
  python3 -m radicale --config /etc/radicale/config
