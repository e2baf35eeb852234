#!/usr/bin/env bash
# Qt's xcb/offscreen platform plugins need a few system libraries that minimal Linux images lack.
# Installs them with apt when they are missing and we are allowed to (root); elsewhere does nothing.
set -u
[ "$(uname -s)" = "Linux" ] || exit 0
command -v apt-get >/dev/null 2>&1 || exit 0
[ "$(id -u)" = "0" ] || exit 0
need=()
for pkg in libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 || \
  echo "warning: could not install Qt runtime libraries: ${need[*]}" >&2
exit 0
