#!/usr/bin/env bash
# Builds dist/Enclave.app with PyInstaller and wraps it in dist/Enclave-<version>-macos-<arch>.dmg.
# Run on macOS 11+ from anywhere in the checkout:  bash packaging/macos/build_dmg.sh
# Signing: set CODESIGN_IDENTITY="Developer ID Application: ..." to sign with a real identity (needed for
# notarization, see packaging/README.md); without it the app is ad-hoc signed and runs only on this Mac or
# after the user right-clicks > Open.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = "Darwin" ] || { echo "build_dmg.sh runs on macOS only" >&2; exit 1; }

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[packaging]"

.venv/bin/python -m PyInstaller --noconfirm --clean packaging/enclave.spec
APP="dist/Enclave.app"
[ -d "$APP" ] || { echo "PyInstaller did not produce $APP" >&2; exit 1; }
"$APP/Contents/MacOS/enclave" --version

IDENTITY="${CODESIGN_IDENTITY:--}"
codesign --force --deep --options runtime --timestamp=none --sign "$IDENTITY" "$APP"
codesign --verify --deep --strict "$APP"

VERSION="$(.venv/bin/python -c 'import app; print(app.__version__)')"
DMG="dist/Enclave-${VERSION}-macos-$(uname -m).dmg"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Enclave" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
[ "$IDENTITY" = "-" ] || codesign --sign "$IDENTITY" "$DMG"
echo "wrote $DMG"
