#!/usr/bin/env bash
# Builds the frozen app and the .deb on Linux and runs them as a user would; `.ci/run` calls it after the tests.
#
#   bash packaging/linux/check-frozen.sh [OUT_DIR]          (default: dist)
#
# 1. PyInstaller one-folder build (packaging/enclave.spec) into OUT_DIR/enclave; size budget
#    (packaging/bundle_size.py fails the run when it is exceeded).
# 2. The frozen program itself (packaging/smoke_frozen.py, also run by the release workflow on Windows and
#    macOS): `enclave-cli --version`; `make-test-model` and `export` of a tiny model; `chat` with an attached
#    document, traced with strace to show that the document sandbox re-executes the frozen program (a frozen
#    build has no `python -m`); `gui --smoke` on the real window (offscreen). HOME and XDG_* point into a
#    scratch folder: nothing touches the real user's files.
# 3. The .deb (packaging/linux/build-deb.sh): control fields, contents, desktop entry (desktop-file-validate),
#    and the extracted package's `enclave` on its PATH. Installing it into a clean Debian root is the separate
#    `bash packaging/linux/test-clean-debian.sh`.
# 4. The Windows MSI source: packaging/windows/build-msi.sh builds the .wxs with wixl from a stand-in folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PY=.venv/bin/python
[ -x "$PY" ] || { echo "check-frozen.sh: .venv is missing; run bash tests/run.sh (or packaging/run-from-source.sh) first." >&2; exit 1; }
step() { printf '\n== %s (%(%H:%M:%S)T)\n' "$1" -1; }

step "tools"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  for tool_pkg in strace:strace desktop-file-validate:desktop-file-utils wixl:wixl msiinfo:msitools; do
    command -v "${tool_pkg%%:*}" >/dev/null 2>&1 || need+=("${tool_pkg##*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null
  fi
fi
"$PY" -m pip install -q -e ".[packaging]"
# The bundle takes the xcb libraries from this machine, and the .deb's Depends are read from them.
bash packaging/install-qt-runtime-libs.sh --python "$PY"

step "PyInstaller"
start=$SECONDS
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT" --workpath "$WORK/build" packaging/enclave.spec
echo "built $OUT/enclave in $((SECONDS - start)) s"
"$PY" packaging/bundle_size.py "$OUT/enclave"

step "frozen program"
"$PY" packaging/smoke_frozen.py "$OUT/enclave/enclave-cli" "$OUT/enclave/enclave" --trace-execve
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)"

step ".deb"
DEB="$(bash packaging/linux/build-deb.sh "$OUT/enclave" "$OUT")"
ls -l "$DEB"
[ "$(dpkg-deb -f "$DEB" Package)" = enclave ] && [ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ]
# Listings are read whole before grep -q looks at them: with pipefail, grep -q leaving at its first match sent
# SIGPIPE to dpkg-deb still writing, and the pipeline failed on a package that had the file (CI, "lacks
# ./opt/enclave/enclave").
DEPENDS="$(dpkg-deb -f "$DEB" Depends)"
CONTENTS="$(dpkg-deb -c "$DEB" | awk '{print $6}')"
grep -q "libxcb-icccm4" <<<"$DEPENDS" || { echo "$DEB does not depend on libxcb-icccm4, which Qt's xcb plugin links." >&2; exit 1; }
for path in ./usr/bin/enclave ./opt/enclave/enclave ./opt/enclave/enclave-cli ./usr/share/applications/enclave.desktop \
            ./usr/share/icons/hicolor/256x256/apps/enclave.png ./usr/share/icons/hicolor/scalable/apps/enclave.svg; do
  grep -qx "$path" <<<"$CONTENTS" || { echo "$DEB lacks $path." >&2; exit 1; }
done
desktop-file-validate packaging/linux/enclave.desktop
mkdir "$WORK/root" && dpkg-deb -x "$DEB" "$WORK/root"
[ "$(PATH="$WORK/root/usr/bin:$PATH" enclave --version)" = "enclave $VERSION" ]
echo "the extracted package's enclave runs from its PATH"
rm -rf "$WORK/root"

step "Windows MSI (wixl, from a stand-in folder)"
bash packaging/windows/build-msi.sh --stand-in "$OUT"
echo "check-frozen.sh: all checks passed"
