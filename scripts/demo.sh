#!/usr/bin/env bash
# Sets up the environment and starts the demo: embedded MQTT broker, SQLite, the web chat at
# http://127.0.0.1:8000 and a simulated cold room that warms up (first incident about 20 s after start).
# Installs the fonts Chinese and emoji need and the PDF libraries (scripts/fonts.sh). No tokens needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
bash scripts/fonts.sh
exec .venv/bin/wareroom demo "$@"
