#!/usr/bin/env bash
# Sets up the environment and runs every check: ruff, mypy --strict, the import-linter layer
# contracts and the whole pytest suite (against the real PostgreSQL and Mosquitto).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh dev
bash scripts/services.sh
.venv/bin/ruff check .
.venv/bin/mypy bot handlers incidents integrations playbooks tests bench
.venv/bin/lint-imports
.venv/bin/pytest -q "$@"
