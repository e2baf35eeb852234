#!/usr/bin/env bash
# Sets up Enclave from this checkout and starts the desktop app (arguments go to `enclave`, e.g. `gui --smoke`).
#
# First run: creates .venv (installing Debian's python3-venv with apt when root and it is missing), installs the project (editable: edits to app/ need no reinstall), and checks the
# system libraries Qt's platform plugins link against (packaging/install-qt-runtime-libs.sh, apt as root).
# Later runs skip pip while nothing that decides the installed packages changed: .venv/.enclave-source-stamp
# holds a hash of pyproject.toml, this script and the Python version, and is written only after a successful
# install. Without a display the app itself says so in one sentence and exits 2.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || [ -x .venv/bin/python ] || {
  echo "Enclave needs Python 3.11 or later: '$PY' was not found (set PYTHON=/path/to/python3)." >&2; exit 1; }
if [ ! -x .venv/bin/python ] || [ ! -x .venv/bin/pip ]; then
  rm -rf .venv
  if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # Debian and Ubuntu ship venv's pip bootstrap separately (python3-venv).
    echo "Installing python3-venv (Debian's venv support)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv) \
      >/dev/null 2>&1 || true
  fi
  "$PY" -m venv .venv >/dev/null 2>&1 || {
    rm -rf .venv
    echo "Could not create .venv with $PY: on Debian/Ubuntu install python3-venv (as root: apt-get install python3-venv)." >&2
    exit 1; }
fi
STAMP=.venv/.enclave-source-stamp
wanted="$( (cat pyproject.toml "$SELF"; .venv/bin/python -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ] || [ ! -x .venv/bin/enclave ]; then
  rm -f "$STAMP"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e .
  echo "$wanted" > "$STAMP"
fi
bash packaging/install-qt-runtime-libs.sh --python .venv/bin/python
exec .venv/bin/enclave "$@"
