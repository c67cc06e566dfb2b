#!/usr/bin/env bash
# Makes sure the services the tests use are running on loopback: PostgreSQL (database "test"),
# Mosquitto on 1883, Debian's Chromium for the browser test and Node.js with the OIDC provider. Installs the Debian packages
# when they are missing; does nothing when everything is already there.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
need_pkg() {  # need_pkg COMMAND PACKAGE...: install PACKAGE... unless COMMAND exists
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL
if ! port_open 5432; then
  need_pkg pg_ctlcluster postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 30); do port_open 5432 && break; sleep 1; done
  as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
fi
if ! psql "postgresql://postgres:postgres@127.0.0.1:5432/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1; then
  as_root su postgres -c "createdb test" 2>/dev/null || psql "postgresql://postgres:postgres@127.0.0.1:5432/postgres" -qc "CREATE DATABASE test" || true
fi

# Mosquitto, with the raised queue limits WareRoom ships
if ! port_open 1883; then
  need_pkg mosquitto mosquitto
  mosquitto -d -c "$(dirname "$0")/../docker/mosquitto.conf"
  for _ in $(seq 20); do port_open 1883 && break; sleep 0.5; done
fi

# Chromium for the web chat test (Debian's package; no browser download); the fonts Chinese and emoji
# need in screenshots, charts and review PDFs, WeasyPrint's libraries and poppler's pdftoppm
need_pkg chromium chromium
bash "$(dirname "$0")/fonts.sh"

# The single sign-on test's OpenID Connect provider: panva/node-oidc-provider on Node.js (npm registry)
need_pkg node nodejs
need_pkg npm npm
[ -d "$(dirname "$0")/../tests/oidc/node_modules/oidc-provider" ] || \
  npm ci --prefix "$(dirname "$0")/../tests/oidc" --no-audit --no-fund --loglevel=error >/dev/null

port_open 5432 && port_open 1883 && echo "services: PostgreSQL 127.0.0.1:5432 and Mosquitto 127.0.0.1:1883 are up"
