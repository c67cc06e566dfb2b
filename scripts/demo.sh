#!/usr/bin/env bash
# Sets up the environment and starts the demo: embedded MQTT broker, SQLite, the web chat at
# http://127.0.0.1:8000 and a simulated cold room that warms up. No tokens needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
exec .venv/bin/wareroom demo "$@"
