#!/usr/bin/env bash
# Wraps the PyInstaller one-folder build into a Debian package: the app in /opt/enclave, `enclave` on PATH,
# a desktop entry and the icon in the hicolor theme.
#
#   bash packaging/linux/build-deb.sh [DIST_DIR] [OUT_DIR]      (defaults: dist/enclave, dist)
#   DEB_COMPRESSION=xz for the smallest file (75 MB against 94 MB, minutes instead of seconds on 2 cores);
#   the zstd default needs dpkg 1.21.18 (Debian 12, Ubuntu 18.04 and later).
#
# Depends is derived, not written down: every ELF file in the bundle is asked (ldd, with the bundle's own
# folder first, as the frozen app's loader sees it) which libraries it takes from the system, and dpkg says
# which package owns each. Libraries the bundle carries a copy of also name the package of the system copy:
# their data files (xkb-data for libxkbcommon, fontconfig-config for libfontconfig, ...) come only with it.
# A font is listed explicitly: nothing links a font, and Qt shows no text without one.
# Run it on the oldest Debian/Ubuntu the package should install on; ldd must find every library here
# (packaging/install-qt-runtime-libs.sh installs the Qt set).
set -euo pipefail
cd "$(dirname "$0")/../.."
DIST="${1:-dist/enclave}"
OUT="${2:-dist}"
[ -x "$DIST/enclave" ] && [ -d "$DIST/_internal" ] || {
  echo "build-deb.sh: $DIST is not a PyInstaller build of Enclave (no enclave and _internal/ in it); run pyinstaller packaging/enclave.spec first." >&2
  exit 1; }
for tool in dpkg-deb dpkg ldd readelf; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-deb.sh: $tool is missing (install dpkg-dev and binutils)." >&2; exit 1; }
done
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)"
ARCH="$(dpkg --print-architecture)"
[ -n "$VERSION" ] || { echo "build-deb.sh: app/__init__.py has no __version__ line." >&2; exit 1; }

STAGE="$(mktemp -d)"
chmod 755 "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/256x256/apps" "$STAGE/usr/share/icons/hicolor/scalable/apps" \
  "$STAGE/usr/share/doc/enclave"
cp -a "$DIST" "$STAGE/opt/enclave"
ln -s ../../opt/enclave/enclave "$STAGE/usr/bin/enclave"
install -m 644 packaging/linux/enclave.desktop "$STAGE/usr/share/applications/enclave.desktop"
install -m 644 resources/icons/enclave.png "$STAGE/usr/share/icons/hicolor/256x256/apps/enclave.png"
install -m 644 resources/icons/enclave.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/enclave.svg"
cat > "$STAGE/usr/share/doc/enclave/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Enclave
Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
 /opt/enclave/_internal holds third-party libraries under their own licences (Qt/PySide6: LGPL-3.0,
 ONNX Runtime: MIT, Python: PSF-2.0, and others named in their .dist-info folders there).
COPYRIGHT

internal="$STAGE/opt/enclave/_internal"
owner() {  # package owning a library file, or nothing (dpkg may know it under /lib or /usr/lib: usrmerge)
  local real candidate
  real="$(readlink -f "$1")"
  for candidate in "$1" "$real" "${real#/usr}" "/usr${real}"; do
    dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1 | grep . && return 0
  done
  return 0
}
add_owner() {
  local pkg
  pkg="$(owner "$1")"
  if [ -n "$pkg" ]; then depends[$pkg]=1; fi
}
declare -A depends=() external=()
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
missing=()
while IFS= read -r -d '' file; do
  [ "$(head -c4 "$file" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    if [ "$path" = "not" ]; then missing+=("$soname (for ${file#"$internal"/})"); continue; fi
    case "$path" in "$STAGE"/*) ;; *) external[$path]=1 ;; esac
  done < <(LD_LIBRARY_PATH="$internal" ldd "$file" 2>/dev/null || true)
done < <(find "$STAGE/opt/enclave" -type f \( -name '*.so*' -o -perm -u+x \) -print0)
for path in "${!external[@]}"; do add_owner "$path"; done
# The bundle's own copies of system libraries (not Python: the bundle always carries its own interpreter).
for lib in "$internal"/*.so*; do
  name="$(basename "$lib")"
  case "$name" in libpython*) continue ;; esac
  for dir in /lib/"$multiarch" /usr/lib/"$multiarch" /lib /usr/lib; do
    if [ -e "$dir/$name" ]; then add_owner "$dir/$name"; break; fi
  done
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-deb.sh: the bundle links libraries this machine lacks, so the package's dependencies cannot be derived: ${missing[*]}; run packaging/install-qt-runtime-libs.sh (as root) and build again." >&2
  exit 1
fi
dep_list="$(printf '%s\n' "${!depends[@]}" | sort | paste -sd, - | sed 's/,/, /g')"
installed_kb="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: enclave
Version: $VERSION
Architecture: $ARCH
Maintainer: Enclave contributors <enclave@localhost>
Installed-Size: $installed_kb
Depends: $dep_list, fonts-dejavu-core | fonts-noto-core | fonts-liberation2
Section: utils
Priority: optional
Description: private, offline chat with gpt-oss models
 Enclave chats with OpenAI's open-weight gpt-oss-20b and gpt-oss-120b models
 entirely on this computer: no cloud, no account, no telemetry. Documents
 dragged into the chat are read locally; conversations are encrypted at rest.
CONTROL
mkdir -p "$OUT"
DEB="$OUT/enclave_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-zstd}" --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
