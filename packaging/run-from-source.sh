#!/usr/bin/env bash
# Sets up Enclave from this checkout and starts the desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
bash packaging/install-qt-runtime-libs.sh
exec .venv/bin/enclave "$@"
