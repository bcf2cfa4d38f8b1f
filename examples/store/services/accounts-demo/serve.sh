#!/bin/sh
# One HTTP request on stdin/stdout (busybox nc -ll -e runs this per connection).
# The account API of the seed (POST/DELETE/GET /service-api/accounts) and a login check
# (GET /login with HTTP basic auth). Accounts live on the volume: /data/accounts/<user>
# holds "salt sha256(salt:password)"; passwords are never written or logged in clear.
DIR=/data/accounts
mkdir -p "$DIR"

reply() { # status text, body
    printf 'HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "${3:-application/json}" "${#2}" "$2"
    exit 0
}
# nc hands the socket to this script: the container's log is PID 1's output.
log() { echo "$*" > /proc/1/fd/1 2>/dev/null || true; }
digest() { printf '%s:%s' "$1" "$2" | sha256sum | cut -d' ' -f1; }
valid_user() { echo "$1" | grep -qE '^[a-z0-9][a-z0-9_-]{0,31}$'; }

read -r method target _
length=0
auth=""
bearer=""
while read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    [ -z "$line" ] && break
    case "$line" in
        [Cc]ontent-[Ll]ength:*) length=$(echo "${line#*:}" | tr -dc '0-9') ;;
        [Aa]uthorization:\ Basic\ *) auth="${line#*Basic }" ;;
        [Aa]uthorization:\ Bearer\ *) bearer="${line#*Bearer }" ;;
    esac
done
body=""
[ "${length:-0}" -gt 0 ] && body=$(head -c "$length")
path="${target%%\?*}"

# The account API answers pic-store alone: every call carries the secret pic-store handed
# this container (${PIC_SECRET_ACCOUNTS_API}, in ACCOUNTS_API_SECRET). No secret: no API.
case "$path" in
    /service-api/*)
        [ -n "$ACCOUNTS_API_SECRET" ] && [ "$bearer" = "$ACCOUNTS_API_SECRET" ] ||
            reply "401 Unauthorized" '{"detail":"the account API needs pic-store'"'"'s secret"}' ;;
esac

case "$method $path" in
    "GET /healthz") reply "200 OK" "ok" text/plain ;;
    "GET /service-api/accounts")
        list=""
        for f in "$DIR"/*; do
            [ -f "$f" ] && list="$list\"${f##*/}\","
        done
        reply "200 OK" "[${list%,}]" ;;
    "POST /service-api/accounts")
        user=$(printf '%s' "$body" | sed -n 's/.*"username"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
        pass=$(printf '%s' "$body" | sed -n 's/.*"password"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
        valid_user "$user" && [ -n "$pass" ] || reply "400 Bad Request" '{"detail":"username and password required"}'
        [ -f "$DIR/$user" ] && reply "409 Conflict" '{"detail":"exists"}'
        salt=$(head -c 12 /dev/urandom | sha256sum | cut -c1-16)
        echo "$salt $(digest "$salt" "$pass")" > "$DIR/.$user.tmp" && mv "$DIR/.$user.tmp" "$DIR/$user"
        log "account created: $user"
        reply "201 Created" "{\"username\":\"$user\"}" ;;
    "DELETE /service-api/accounts/"*)
        user="${path#/service-api/accounts/}"
        valid_user "$user" || reply "400 Bad Request" '{"detail":"bad username"}'
        [ -f "$DIR/$user" ] || reply "404 Not Found" '{"detail":"no such account"}'
        rm -f "$DIR/$user"
        log "account deleted: $user"
        reply "204 No Content" "" ;;
    "GET /login")
        pair=$(printf '%s' "$auth" | base64 -d 2>/dev/null)
        user="${pair%%:*}"
        pass="${pair#*:}"
        if valid_user "$user" && [ -f "$DIR/$user" ]; then
            read -r salt hash < "$DIR/$user"
            [ "$(digest "$salt" "$pass")" = "$hash" ] && reply "200 OK" "{\"user\":\"$user\"}"
        fi
        reply "401 Unauthorized" '{"detail":"wrong username or password"}' ;;
esac
reply "404 Not Found" '{"detail":"not found"}'
