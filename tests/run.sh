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
# The privacy tests (tests/privacy) watch real runs with strace; clean Debian images do not have it.
if ! command -v strace >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace) >/dev/null 2>&1 || \
    echo "warning: could not install strace; tests/privacy will fail" >&2
fi
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 ORT_DISABLE_TELEMETRY=1
exec .venv/bin/python -m pytest "$@"
