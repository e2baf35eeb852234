#!/usr/bin/env bash
# Sets up a virtual environment with everything the tests need, then runs the whole suite.
# torch is pinned and installed first: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
bash packaging/install-qt-runtime-libs.sh --platforms offscreen  # the suite runs Qt offscreen
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
exec .venv/bin/python -m pytest "$@"
