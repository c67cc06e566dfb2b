#!/usr/bin/env bash
# Creates .venv with Python >= 3.11 (installing Debian's python3-venv when it is missing) and
# installs the project into it: `bash scripts/venv.sh` for the app, `bash scripts/venv.sh dev` with
# the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "WareRoom needs Python 3.11 or newer; found $(python3 --version 2>&1)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
    python3 -m venv .venv
  fi
fi
extras=""
[ "${1:-}" = dev ] && extras="[dev]"
# pip runs only when pyproject.toml changed since the last install (it takes ~8 s even with nothing to do,
# which the demo's first minute should not pay); the dev install also satisfies the plain one.
stamp_of() { echo ".venv/.installed${1}"; }
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$(stamp_of "$extras")" 2>/dev/null)" != "$wanted" ] && \
   { [ -n "$extras" ] || [ "$(cat "$(stamp_of "[dev]")" 2>/dev/null)" != "$wanted" ]; }; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".${extras}"
  echo "$wanted" > "$(stamp_of "$extras")"
fi
# the message catalogues (README "Languages"); a .po without a fresh .mo is also compiled in memory at start
.venv/bin/pybabel -q compile -d handlers/locale -D messages
