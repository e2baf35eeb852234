#!/usr/bin/env bash
# Makes sure the system libraries that the installed PySide6's Qt platform plugins link against are present,
# and installs the missing ones with apt when run as root.
#
#   bash packaging/install-qt-runtime-libs.sh [--platforms "xcb wayland offscreen"] [--python PYTHON] [--check]
#
# --check only reports (never runs apt); --platforms limits the check to those Qt platform plugins (the test
# suite runs offscreen and needs no X libraries).
# The list is not written down here: it is read with ldd from the Qt that pip installed (the platform plugins,
# their GL and Wayland shell integrations, input-method and image plugins, and the QtCore/QtGui/QtWidgets modules), so a new
# PySide6 that links one more library is covered without editing this file. Each missing soname is mapped to
# Debian's package name for it (libxcb-icccm.so.4 -> libxcb-icccm4, libglib-2.0.so.0 -> libglib2.0-0, and the
# t64 names of Debian 13), apt installs them, and ldd is asked again: success means ldd finds every library.
# Qt also shows no text without a font, which no ldd can see: a font package is installed when fc-list finds
# none. Exit 0 when everything is there; otherwise one sentence naming what is missing, and exit 1.
set -u
platforms="xcb wayland offscreen"
PY=""
check_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --platforms) platforms="$2"; shift 2 ;;
    --python) PY="$2"; shift 2 ;;
    --check) check_only=1; shift ;;
    *) echo "install-qt-runtime-libs.sh: unknown argument '$1' (use --platforms LIST, --python PYTHON or --check)." >&2; exit 2 ;;
  esac
done
[ "$(uname -s)" = "Linux" ] || exit 0
cd "$(dirname "$0")/.."
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
pyside="$("$PY" -c 'import os, PySide6; print(os.path.dirname(PySide6.__file__))' 2>/dev/null)" || {
  echo "install-qt-runtime-libs.sh: PySide6 is not installed for $PY, so there is no Qt to check." >&2; exit 1; }
qt="$pyside/Qt"

binaries() {
  local p
  for p in $platforms; do
    [ -f "$qt/plugins/platforms/libq$p.so" ] && echo "$qt/plugins/platforms/libq$p.so"
    [ "$p" = xcb ] && ls "$qt"/plugins/xcbglintegrations/*.so 2>/dev/null
    [ "$p" = wayland ] && ls "$qt"/plugins/wayland-shell-integration/*.so "$qt"/plugins/wayland-decoration-client/*.so \
      "$qt"/plugins/wayland-graphics-integration-client/*.so 2>/dev/null
  done
  ls "$qt"/plugins/platforminputcontexts/*.so "$qt"/plugins/imageformats/*.so "$qt"/plugins/iconengines/*.so \
     "$pyside"/QtCore.*so "$pyside"/QtGui.*so "$pyside"/QtWidgets.*so 2>/dev/null
}

# Sonames that ldd cannot find. A plugin that lacks one of Qt's own libraries belongs to a PySide6 add-on that
# is not installed (PySide6-Essentials ships the virtual-keyboard and PDF plugins without their Qt modules);
# Qt skips such a plugin, and the system's Qt packages must never stand in for it, so it is left out.
missing_sonames() {
  local f out
  binaries | while read -r f; do
    out="$(ldd "$f" 2>/dev/null)"
    echo "$out" | grep -Eq '^\s*lib(Qt6|pyside6|shiboken6)[^ ]* => not found' && continue
    echo "$out"
  done | awk '/=> not found/ {print $1}' | sort -u
}

# Debian's package name(s) for a soname, most likely first (Debian policy 8.1: libNAME.so.N -> libNAMEN, or
# libNAME-N when NAME ends in a digit; some libraries drop the hyphen before their version; t64 suffixes of
# Debian 13), then the few libraries that ship inside a package named otherwise.
deb_candidates() {
  local soname="$1" base ver name squeezed extra=""
  base="${soname%%.so.*}"; ver="${soname##*.so.}"; ver="${ver%%.*}"
  base="$(echo "$base" | tr '[:upper:]_' '[:lower:]-')"
  if [[ "$base" =~ [0-9]$ ]]; then name="$base-$ver"; else name="$base$ver"; fi
  squeezed="${name/-/}"
  case "$soname" in
    libgobject-2.0.so.*|libgio-2.0.so.*|libgmodule-2.0.so.*|libgthread-2.0.so.*) extra="libglib2.0-0" ;;
    libGLdispatch.so.*) extra="libglvnd0" ;;
    libz.so.*) extra="zlib1g" ;;
    libgcc_s.so.*) extra="libgcc-s1" ;;
    libstdc++.so.*) extra="libstdc++6" ;;
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*) extra="libc6" ;;
  esac
  for candidate in "$name" "${name}t64" "$squeezed" "${squeezed}t64" ${extra:+"$extra" "${extra}t64"}; do
    echo "$candidate"
  done | awk '!seen[$0]++'
}

installable() {  # a real package apt could install now
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -qv '(none)'
}

missing="$(missing_sonames)"
need_font=0
if command -v fc-list >/dev/null 2>&1; then
  [ -n "$(fc-list 2>/dev/null | head -n1)" ] || need_font=1
elif [ ! -d /usr/share/fonts ] || [ -z "$(find /usr/share/fonts -type f \( -name '*.ttf' -o -name '*.otf' \) 2>/dev/null | head -n1)" ]; then
  need_font=1
fi
[ -z "$missing" ] && [ "$need_font" = 0 ] && exit 0

list() { echo "$1" | tr '\n' ' ' | sed 's/ *$//; s/ /, /g'; }
if [ "$check_only" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  what="${missing:+the Qt platform plugins need $(list "$missing"), which this system lacks}"
  [ "$need_font" = 1 ] && what="${what:+$what, and }no font is installed, so Qt would show no text"
  echo "Enclave cannot start its window: $what; install them with your package manager (on Debian/Ubuntu: run this script as root, or sudo apt-get install the packages named after them)." >&2
  exit 1
fi

# Package lists may be absent (fresh images): fetch them once before looking names up.
[ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] || apt-get update -qq >/dev/null 2>&1
packages=()
unmapped=()
for soname in $missing; do
  found=""
  for candidate in $(deb_candidates "$soname"); do
    if installable "$candidate"; then found="$candidate"; break; fi
  done
  if [ -z "$found" ]; then
    apt-get update -qq >/dev/null 2>&1
    for candidate in $(deb_candidates "$soname"); do
      if installable "$candidate"; then found="$candidate"; break; fi
    done
  fi
  if [ -n "$found" ]; then packages+=("$found"); else unmapped+=("$soname"); fi
done
[ "$need_font" = 1 ] && packages+=(fonts-dejavu-core fontconfig)
[ ${#packages[@]} -gt 0 ] && mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing the system libraries Qt needs: ${packages[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 || {
    echo "apt-get could not install ${packages[*]}, which Qt's platform plugins need; run 'apt-get install ${packages[*]}' to see why." >&2
    exit 1; }
fi
still="$(missing_sonames)"
if [ -n "$still" ]; then
  echo "Enclave cannot start its window: the Qt platform plugins still lack $(list "$still") after installing ${packages[*]:-nothing}${unmapped:+ (no Debian package found for ${unmapped[*]})}." >&2
  exit 1
fi
exit 0
