#!/bin/sh
# Postfix and Dovecot in one container: they talk through two local sockets (SASL, and the
# LDA's user lookups) and share one user file and one volume. Either one stopping stops the
# container, and Docker starts it again (restart: unless-stopped).
#
# /data (the service's volume): mail/ (Maildir per address, vmail's), users/passwd (kept by
# pic-store's `email` account manager; only root and Dovecot's auth read it), tls/ (the
# mail host's key and certificate), snapshot/ (a backup's copy, see mailctl).
set -eu
domain="${MAIL_DOMAIN:?MAIL_DOMAIN (the cell domain) is not set}"
host="mail.$domain"

mkdir -p /data/mail /data/users /data/tls /data/snapshot
chown vmail:vmail /data/mail
chmod 0700 /data/mail /data/tls /data/snapshot
chown root:dovecot /data/users
chmod 0750 /data/users
[ -e /data/users/passwd ] || install -m 0644 /dev/null /data/users/passwd

# TLS: the certificate of mail.<domain> signed by the cell's CA, and its key, which pic-store
# hands over (TLS_CERT, TLS_KEY: ${PIC_TLS_CERT}, ${PIC_TLS_KEY}) and issues again before they
# expire; written at each start. Without them (a render with no cell CA, by hand), a
# self-signed pair made once and kept.
case "${TLS_CERT:-}" in
  -----BEGIN*)
    umask 077
    printf '%s\n' "$TLS_KEY" > /data/tls/mail.key.new
    printf '%s\n' "$TLS_CERT" > /data/tls/mail.crt.new
    umask 022
    mv /data/tls/mail.key.new /data/tls/mail.key
    mv /data/tls/mail.crt.new /data/tls/mail.crt
    echo "$host (cell CA)" > /data/tls/host
    ;;
  *)
    if [ ! -s /data/tls/mail.crt ] || [ "$(cat /data/tls/host 2>/dev/null)" != "$host" ]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
        -keyout /data/tls/mail.key.new -out /data/tls/mail.crt.new 2>/dev/null
      mv /data/tls/mail.key.new /data/tls/mail.key
      mv /data/tls/mail.crt.new /data/tls/mail.crt
      echo "$host" > /data/tls/host
    fi
    ;;
esac
unset TLS_KEY TLS_CERT
chmod 0600 /data/tls/mail.key
chmod 0644 /data/tls/mail.crt

# Mail put back by a restore comes into the mailboxes.
mailctl merge

postconf -e "myhostname=$host" "mydomain=$domain"

dovecot -F &
dovecot_pid=$!
postfix start-fg &
postfix_pid=$!
trap 'postfix stop >/dev/null 2>&1; kill "$dovecot_pid" 2>/dev/null; wait; exit 0' TERM INT
while kill -0 "$dovecot_pid" 2>/dev/null && kill -0 "$postfix_pid" 2>/dev/null; do
  sleep 2 &
  wait $! || true
done
echo "email: dovecot or postfix stopped; the container stops" >&2
postfix stop >/dev/null 2>&1 || true
kill "$dovecot_pid" 2>/dev/null || true
exit 1
