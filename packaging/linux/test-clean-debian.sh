#!/usr/bin/env bash
# Proves the README's first command, and the .deb, on clean Debian roots made with debootstrap. Needs root.
# Not part of the default suite (it downloads a Debian base system and Enclave's wheels: minutes).
#
#   bash packaging/linux/test-clean-debian.sh [--deb FILE.deb] [--skip-source] [--skip-deb]
#
# Work folder: $ENCLAVE_CLEAN_DEBIAN_WORK (default /tmp/enclave-clean-debian): the debootstrap cache and a
# pristine base root are kept there between runs; each run copies the base afresh. Nothing goes into the repo.
#
# From source (a copy of this checkout's files, as a clone has them, in /src/enclave of a minbase root that
# has python3 and nothing else):
#   1. QT_QPA_PLATFORM=offscreen bash packaging/run-from-source.sh gui --smoke PKG   (first run: installs)
#   2. the same again: no reinstall (timed)
#   3. no display and no QT_QPA_PLATFORM: one sentence, exit 2
#   4. under Xvfb on the real xcb platform plugin: gui --smoke PKG
# The .deb (from --deb, else dist/enclave_*.deb) in a second fresh root:
#   5. apt-get install ./enclave_*.deb; enclave on PATH, desktop entry and icon in place
#   6. enclave gui --smoke PKG under Xvfb (xcb) with no network at all (unshare -n) and no D-Bus, so no keyring
#      daemon; 7. the desktop app itself (no --smoke) starts there and creates its encrypted history.
# PKG is a tiny random-weight package made with this checkout's .venv (enclave make-test-model + export).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$(pwd)"
WORK="${ENCLAVE_CLEAN_DEBIAN_WORK:-/tmp/enclave-clean-debian}"
DEB=""; do_source=1; do_deb=1
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB="$2"; shift 2 ;;
    --skip-source) do_source=0; shift ;;
    --skip-deb) do_deb=0; shift ;;
    *) echo "test-clean-debian.sh: unknown argument '$1' (use --deb FILE, --skip-source, --skip-deb)." >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "test-clean-debian.sh needs root (debootstrap and chroot)." >&2; exit 1; }
command -v apt-get >/dev/null 2>&1 || { echo "test-clean-debian.sh needs a Debian-based host (apt-get, debootstrap)." >&2; exit 1; }
command -v debootstrap >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
if [ "$do_deb" = 1 ] && [ -z "$DEB" ]; then
  DEB="$(ls -t dist/enclave_*.deb 2>/dev/null | head -n1 || true)"
  [ -n "$DEB" ] || { echo "test-clean-debian.sh: no .deb given and none in dist/ (bash packaging/linux/check-frozen.sh builds one; or pass --skip-deb)." >&2; exit 1; }
fi
log() { printf '\n== %s (%(%H:%M:%S)T)\n' "$1" -1; }
mkdir -p "$WORK/cache"

# The same Debian release and mirror as this host, read from its apt sources (nothing is written down here).
. /etc/os-release
SUITE="$VERSION_CODENAME"
MIRROR="$(grep -h -A3 '^Types:.*deb' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\).*/\1/p' | grep -v security | head -n1 || true)"
[ -n "$MIRROR" ] || MIRROR="$(awk '$1=="deb" && $0 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' /etc/apt/sources.list 2>/dev/null || true)"
[ -n "$MIRROR" ] || { echo "test-clean-debian.sh: no Debian mirror found in this host's apt sources." >&2; exit 1; }

BASE="$WORK/base-$SUITE"
if [ ! -f "$BASE/.complete" ]; then
  log "debootstrap $SUITE (minbase + python3) from $MIRROR"
  rm -rf "$BASE"
  start=$SECONDS
  debootstrap --variant=minbase --include=python3 --cache-dir="$WORK/cache" "$SUITE" "$BASE" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; echo "debootstrap failed (log: $WORK/debootstrap.log)." >&2; exit 1; }
  touch "$BASE/.complete"
  echo "debootstrap took $((SECONDS - start)) s"
fi

# Tiny model package, made once with this checkout's own environment.
PKG="$WORK/tiny-package"
if [ ! -f "$PKG/manifest.json" ]; then
  log "tiny model package"
  [ -x .venv/bin/enclave ] || { echo "test-clean-debian.sh: .venv/bin/enclave is missing; run bash tests/run.sh first (it makes the tiny package)." >&2; exit 1; }
  rm -rf "$WORK/tiny-checkpoint" "$PKG"
  HF_HUB_OFFLINE=1 .venv/bin/enclave make-test-model "$WORK/tiny-checkpoint" --preset tiny >/dev/null
  HF_HUB_OFFLINE=1 .venv/bin/enclave export "$WORK/tiny-checkpoint" "$PKG" --target cpu >/dev/null
  rm -rf "$WORK/tiny-checkpoint"
fi

MOUNTED=()
cleanup() {
  local m
  for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do umount -l "${MOUNTED[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT

# A fresh copy of the base with this host's package sources and pip settings (how it reaches the registries).
fresh_root() {
  local root="$1"
  for m in "$root/dev" "$root/proc" "$root/sys"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  rm -rf "$root"
  cp -a "$BASE" "$root"
  rm -f "$root/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
  for conf in /etc/apt/apt.conf.d/*; do
    grep -qv -e '^\s*//' -e '^\s*Acquire::' -e '^\s*$' "$conf" || cp "$conf" "$root/etc/apt/apt.conf.d/"
  done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
  [ -d /etc/xdg/pip ] && mkdir -p "$root/etc/xdg" && cp -a /etc/xdg/pip "$root/etc/xdg/"
  # Local CA certificates the host trusts (a company proxy's, say): kept when ca-certificates rebuilds its bundle.
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  local cert
  for cert in "${PIP_CERT:-}" $(sed -n 's/^ *cert *= *//p' /etc/pip.conf 2>/dev/null); do
    [ -n "$cert" ] && [ -f "$cert" ] && mkdir -p "$root$(dirname "$cert")" && cp "$cert" "$root$cert"
  done
  mount --bind /dev "$root/dev"; MOUNTED+=("$root/dev")
  mount -t proc proc "$root/proc"; MOUNTED+=("$root/proc")
  mount -t sysfs sys "$root/sys"; MOUNTED+=("$root/sys")
  mkdir -p "$root/pkg" && cp -a "$PKG/." "$root/pkg/"
}

# Run a command in a root with a clean environment (what a login shell there would have), plus pip settings.
in_root() {
  local root="$1"; shift
  env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb \
    $(env | grep -E '^PIP_(CERT|DEFAULT_TIMEOUT|DISABLE_PIP_VERSION_CHECK)=' | tr '\n' ' ') \
    chroot "$root" "$@"
}

check_smoke() {  # the last line of a --smoke run is its JSON result
  python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); sys.exit(0 if r.get("ok") and r.get("state")=="complete" else f"smoke failed: {r}")'
}

if [ "$do_source" = 1 ]; then
  ROOT="$WORK/root-source"
  log "fresh root for the README's command"
  fresh_root "$ROOT"
  mkdir -p "$ROOT/src/enclave"
  git -C "$REPO" ls-files -co --exclude-standard -z | tar -C "$REPO" --null -T - -c | tar -x -C "$ROOT/src/enclave"

  log "1. first run: QT_QPA_PLATFORM=offscreen bash packaging/run-from-source.sh gui --smoke /pkg"
  start=$SECONDS
  in_root "$ROOT" env QT_QPA_PLATFORM=offscreen bash -c 'cd /src/enclave && bash packaging/run-from-source.sh gui --smoke /pkg --max-tokens 8 --screenshot /tmp/smoke.png' \
    > "$WORK/first-run.out" 2> "$WORK/first-run.err" || { tail -n 30 "$WORK/first-run.err" >&2; echo "the README's command failed on a clean $SUITE root." >&2; exit 1; }
  first=$((SECONDS - start))
  check_smoke < "$WORK/first-run.out"
  echo "first run (installs everything): ${first} s; $(tail -n1 "$WORK/first-run.out" | cut -c1-160)"
  grep -h "Installing the system libraries" "$WORK/first-run.err" || true

  log "2. second run: no reinstall"
  start=$SECONDS
  in_root "$ROOT" env QT_QPA_PLATFORM=offscreen bash -c 'cd /src/enclave && bash packaging/run-from-source.sh gui --smoke /pkg --max-tokens 8 --screenshot /tmp/smoke.png' \
    > "$WORK/second-run.out" 2> "$WORK/second-run.err"
  second=$((SECONDS - start))
  check_smoke < "$WORK/second-run.out"
  [ "$second" -lt "$first" ] || { echo "the second run took as long as the first (${second} s): it reinstalled." >&2; exit 1; }
  echo "second run: ${second} s (window after $(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["window_visible_s"])' "$WORK/second-run.out") s of process time)"

  log "3. no display"
  set +e
  in_root "$ROOT" bash -c 'cd /src/enclave && bash packaging/run-from-source.sh' > "$WORK/nodisplay.out" 2> "$WORK/nodisplay.err"
  rc=$?
  set -e
  [ "$rc" = 2 ] && [ "$(grep -c . "$WORK/nodisplay.err")" = 1 ] && grep -q DISPLAY "$WORK/nodisplay.err" || {
    echo "without a display the app should say so in one line and exit 2; it exited $rc with:" >&2; cat "$WORK/nodisplay.err" >&2; exit 1; }
  echo "rc 2: $(cat "$WORK/nodisplay.err")"

  log "4. real xcb platform plugin under Xvfb"
  in_root "$ROOT" bash -c 'apt-get install -y -qq --no-install-recommends xvfb xauth >/dev/null 2>&1'
  in_root "$ROOT" bash -c 'cd /src/enclave && xvfb-run -a bash packaging/run-from-source.sh gui --smoke /pkg --max-tokens 8 --screenshot /tmp/smoke-xcb.png' \
    > "$WORK/xcb.out" 2> "$WORK/xcb.err" || { tail -n 20 "$WORK/xcb.err" >&2; echo "the app did not start on xcb in the clean root." >&2; exit 1; }
  check_smoke < "$WORK/xcb.out"
  echo "xcb: $(tail -n1 "$WORK/xcb.out" | cut -c1-120)"
  cp "$ROOT/tmp/smoke-xcb.png" "$WORK/smoke-xcb-source.png"
  cleanup; MOUNTED=()
fi

if [ "$do_deb" = 1 ]; then
  ROOT="$WORK/root-deb"
  log "5. fresh root: apt-get install $(basename "$DEB")"
  fresh_root "$ROOT"
  cp "$DEB" "$ROOT/tmp/enclave.deb"
  start=$SECONDS
  in_root "$ROOT" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/enclave.deb' > "$WORK/deb-install.log" 2>&1 \
    || { tail -n 20 "$WORK/deb-install.log" >&2; echo "apt-get could not install $DEB on a clean $SUITE root." >&2; exit 1; }
  echo "installed in $((SECONDS - start)) s"
  in_root "$ROOT" bash -c 'command -v enclave && enclave --version && test -f /usr/share/applications/enclave.desktop && test -f /usr/share/icons/hicolor/256x256/apps/enclave.png'
  in_root "$ROOT" bash -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb xauth procps >/dev/null 2>&1'

  log "6. installed app, xcb, no network, no D-Bus/keyring daemon"
  unshare --net env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$ROOT" \
    bash -c 'test -z "$(tail -n +2 /proc/net/route)" && cd /tmp && xvfb-run -a enclave gui --smoke /pkg --max-tokens 8 --screenshot /tmp/smoke-deb.png' \
    > "$WORK/deb-smoke.out" 2> "$WORK/deb-smoke.err" || { tail -n 20 "$WORK/deb-smoke.err" >&2; echo "the installed app did not start without a network." >&2; exit 1; }
  check_smoke < "$WORK/deb-smoke.out"
  echo "installed enclave: $(tail -n1 "$WORK/deb-smoke.out" | cut -c1-120)"
  cp "$ROOT/tmp/smoke-deb.png" "$WORK/smoke-xcb-deb.png"

  log "7. the desktop app itself starts and creates its encrypted history (no keyring: passphrase from the environment)"
  unshare --net env -i HOME=/home/user XDG_DATA_HOME=/home/user/.local/share PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    ENCLAVE_PASSPHRASE=clean-root-check chroot "$ROOT" bash -c '
      mkdir -p /home/user && cd /home/user
      setsid xvfb-run -a enclave > /tmp/app.log 2>&1 &
      app=$!
      for _ in $(seq 1 120); do
        [ -f /home/user/.local/share/Enclave/history.sqlite3 ] && break
        kill -0 "$app" 2>/dev/null || break
        sleep 0.5
      done
      ok=0; [ -f /home/user/.local/share/Enclave/history.sqlite3 ] && kill -0 "$app" 2>/dev/null && ok=1
      kill -- -"$app" 2>/dev/null; wait
      [ "$ok" = 1 ] || { cat /tmp/app.log; exit 1; }' \
    || { echo "the installed desktop app did not start and open its history without a keyring daemon." >&2; exit 1; }
  echo "desktop app started; history at ~/.local/share/Enclave/history.sqlite3"
fi
log "clean $SUITE root: all checks passed"
