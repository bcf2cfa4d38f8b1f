#!/bin/sh
# `web`: the front page on 8080 (in /data/web, the service's volume).
# `dav`: WebDAV (with PROPFIND, OPTIONS, LOCK: dav-ext) on 8080 over /data/files, the users
# in /data/users/htpasswd (written by pic-store's `files` account manager; nginx reads its
# bcrypt entries on every request).
set -e
case "$1" in
  web)
    mkdir -p /data/web
    cat > /data/web/index.html <<HTML
<!doctype html><title>Files</title>
<h1>Files</h1>
<p>Your files are at <a href="${FILES_DAV_URL}">${FILES_DAV_URL}</a>: add it as a WebDAV
folder with the username and password of your peer config.</p>
HTML
    exec nginx -c /etc/files/web.conf
    ;;
  dav)
    mkdir -p /data/files /data/users /data/.uploads
    touch /data/users/htpasswd
    chown www-data: /data/files /data/.uploads
    exec nginx -c /etc/files/dav.conf
    ;;
esac
echo "usage: entrypoint.sh web|dav" >&2
exit 2
