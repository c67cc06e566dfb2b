#!/usr/bin/env bash
# Sets up the environment and starts the demo: embedded MQTT broker, SQLite, the web chat at
# http://127.0.0.1:8000 and a simulated cold room that warms up. No tokens needed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/wareroom demo "$@"
