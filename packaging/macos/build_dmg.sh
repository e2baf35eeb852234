#!/usr/bin/env bash
# Builds dist/Enclave.app with PyInstaller, signs it with the hardened runtime, wraps it in
# dist/Enclave-<version>-macos-<arch>.dmg, and notarizes and staples the disk image when credentials are given.
# Run on macOS 11+ from anywhere in the checkout:  bash packaging/macos/build_dmg.sh
#
# Signing and notarization, each step skipped with one line when its credentials are absent:
#   CODESIGN_IDENTITY="Developer ID Application: <name> (<team id>)"   sign with a real identity (else ad hoc:
#       the app runs on this Mac, and elsewhere only after right-click > Open)
#   Notarization (needs a real identity), either
#     NOTARY_KEYCHAIN_PROFILE=<profile>            (xcrun notarytool store-credentials ...), or
#     APPLE_ID=<apple id> APPLE_TEAM_ID=<team id> APPLE_APP_PASSWORD=<app-specific password>
#   Stapling puts the notarization ticket into the .dmg, so Macs without a network (the users this app is
#   for) accept it: Gatekeeper then needs no online check.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = "Darwin" ] || { echo "build_dmg.sh runs on macOS only (hdiutil, codesign, notarytool)." >&2; exit 1; }

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[packaging]"

.venv/bin/python -m PyInstaller --noconfirm --clean packaging/enclave.spec
APP="dist/Enclave.app"
[ -d "$APP" ] || { echo "PyInstaller did not produce $APP." >&2; exit 1; }
"$APP/Contents/MacOS/enclave" --version
.venv/bin/python packaging/bundle_size.py "$APP"

IDENTITY="${CODESIGN_IDENTITY:--}"
ENTITLEMENTS="packaging/macos/entitlements.plist"
if [ "$IDENTITY" = "-" ]; then
  echo "signing: no CODESIGN_IDENTITY, so the app is signed ad hoc (runs here; elsewhere after right-click > Open)."
  TIMESTAMP=(--timestamp=none)
else
  TIMESTAMP=(--timestamp)
fi
# Inside out: every Mach-O file first, then the bundle with the entitlements (no --deep: it would sign the
# nested code with the bundle's entitlements and hide which file failed).
while IFS= read -r -d '' file; do
  if file -b "$file" | grep -q 'Mach-O'; then
    codesign --force --options runtime "${TIMESTAMP[@]}" --sign "$IDENTITY" "$file"
  fi
done < <(find "$APP/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -perm -u+x \) ! -path "$APP/Contents/MacOS/enclave" -print0)
codesign --force --options runtime "${TIMESTAMP[@]}" --entitlements "$ENTITLEMENTS" --sign "$IDENTITY" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"
codesign --display --verbose=2 "$APP" 2>&1 | grep -q "flags=.*runtime" || { echo "$APP is not signed with the hardened runtime." >&2; exit 1; }
"$APP/Contents/MacOS/enclave" --version   # still starts once signed

VERSION="$(.venv/bin/python -c 'import app; print(app.__version__)')"
DMG="dist/Enclave-${VERSION}-macos-$(uname -m).dmg"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Enclave" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
[ "$IDENTITY" = "-" ] || codesign --force "${TIMESTAMP[@]}" --sign "$IDENTITY" "$DMG"

if [ "$IDENTITY" = "-" ]; then
  echo "notarization: skipped (an ad hoc signature cannot be notarized; set CODESIGN_IDENTITY)."
elif [ -n "${NOTARY_KEYCHAIN_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_KEYCHAIN_PROFILE" --wait
elif [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
  xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" --password "$APPLE_APP_PASSWORD" --wait
else
  echo "notarization: skipped (set NOTARY_KEYCHAIN_PROFILE, or APPLE_ID, APPLE_TEAM_ID and APPLE_APP_PASSWORD)."
  IDENTITY_NOTARIZED=0
fi
if [ "$IDENTITY" != "-" ] && [ "${IDENTITY_NOTARIZED:-1}" = 1 ]; then
  xcrun stapler staple "$DMG"
  xcrun stapler validate "$DMG"
  spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
fi
echo "wrote $DMG"
