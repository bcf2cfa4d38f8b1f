#!/bin/sh
# Serve a small page that shows the settings the cell gave this service.
set -e
mkdir -p /www /data/notes
cat > /www/index.html <<HTML
<!doctype html><title>${NOTES_TITLE:-Notes}</title>
<h1>${NOTES_TITLE:-Notes}</h1>
<p>Served by ${NOTES_SERVICE} on cell ${NOTES_CELL} (${NOTES_DOMAIN}), theme ${NOTES_THEME}.</p>
HTML
date >> /data/notes/started
mkdir -p /data/notes/accounts
exec nc -ll -p 8080 -e /serve.sh
