#!/usr/bin/env bash
# Builds Enclave's per-machine MSI with wixl (Debian's msitools) and checks it with msiinfo.
#
#   bash packaging/windows/build-msi.sh DIST_DIR OUT_DIR     DIST_DIR: the Windows one-folder build (dist\enclave)
#   bash packaging/windows/build-msi.sh --stand-in OUT_DIR   CI on Linux: from OUT_DIR/enclave, the Linux build
#
# wixl cannot run PyInstaller for Windows, so the release workflow builds dist\enclave on a Windows runner and
# hands the folder to this script on Linux. CI has no Windows build: --stand-in lays out the Linux build as
# the Windows one (enclave.exe, enclave-cli.exe, the VC++ runtime DLLs as placeholders), so the .wxs, the
# file harvest and every check below run on each commit with the real file count and size, and cannot rot.
# The result of --stand-in installs nothing useful: only its tables are checked.
#
# Checks (msiinfo): x64 package, per machine (ALLUSERS=1), the UpgradeCode of enclave.wxs, MajorUpgrade's
# Upgrade rows and RemoveExistingProducts, refusal to downgrade, the Start-menu shortcut to enclave.exe, 64-bit
# components only, the launchers and the VC++ runtime DLLs among the files, and no RemoveFile rows (per-user
# data is never touched on uninstall).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
usage="usage: build-msi.sh DIST_DIR OUT_DIR | build-msi.sh --stand-in OUT_DIR"
for tool in wixl wixl-heat msiinfo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-msi.sh: $tool is missing; install Debian's wixl and msitools packages (apt-get install wixl msitools)." >&2; exit 1; }
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# ENCLAVE_MSI_VERSION overrides the version (the release workflow's upgrade test builds a second, higher MSI).
VERSION="${ENCLAVE_MSI_VERSION:-$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)}"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-msi.sh: app.__version__ '$VERSION' is not the major.minor.patch an MSI ProductVersion needs." >&2; exit 1; }

if [ "${1:-}" = "--stand-in" ]; then
  [ $# -eq 2 ] || { echo "$usage" >&2; exit 2; }
  OUT="$2"; LINUX="$OUT/enclave"
  [ -x "$LINUX/enclave" ] || { echo "build-msi.sh: --stand-in needs the Linux build in $LINUX (run pyinstaller first)." >&2; exit 1; }
  DIST="$WORK/stand-in"
  mkdir -p "$DIST"
  cp -al "$LINUX/_internal" "$DIST/_internal" 2>/dev/null || cp -a "$LINUX/_internal" "$DIST/_internal"
  cp -l "$LINUX/enclave" "$DIST/enclave.exe" 2>/dev/null || cp "$LINUX/enclave" "$DIST/enclave.exe"
  cp "$DIST/enclave.exe" "$DIST/enclave-cli.exe"
  for dll in vcruntime140.dll vcruntime140_1.dll msvcp140.dll; do echo "stand-in for $dll" > "$DIST/_internal/$dll"; done
  NAME="Enclave-$VERSION-stand-in.msi"
else
  [ $# -eq 2 ] || { echo "$usage" >&2; exit 2; }
  DIST="$1"; OUT="$2"
  NAME="Enclave-$VERSION-windows-x64.msi"
fi
[ -f "$DIST/enclave.exe" ] && [ -f "$DIST/enclave-cli.exe" ] || {
  echo "build-msi.sh: $DIST is not the Windows one-folder build (enclave.exe and enclave-cli.exe missing)." >&2; exit 1; }
for dll in vcruntime140.dll vcruntime140_1.dll msvcp140.dll; do
  [ -n "$(find "$DIST" -maxdepth 3 -iname "$dll" -print -quit)" ] || {
    echo "build-msi.sh: $DIST has no $dll: the app-local Visual C++ runtime is missing, so the MSI would not start on a PC without the redistributable." >&2
    exit 1; }
done
mkdir -p "$OUT"

# wixl takes relative paths only: work from a folder holding links to the inputs.
ln -s "$(cd "$DIST" && pwd)" "$WORK/app"
cp "$ROOT/packaging/windows/enclave.wxs" "$ROOT/resources/icons/enclave.ico" "$WORK/"
(cd "$WORK/app" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) > "$WORK/files.txt"
case "$(cat "$WORK/files.txt")" in *'"'*|*'<'*|*'&'*) echo "build-msi.sh: a file name in $DIST has a character that WiX XML cannot hold." >&2; exit 1 ;; esac
sed 's|^|app/|' "$WORK/files.txt" | wixl-heat --var var.SourceDir -p "app/" --directory-ref INSTALLDIR \
  --component-group EnclaveFiles --win64 > "$WORK/files.wxs"
start=$SECONDS
(cd "$WORK" && wixl -a x64 -D Version="$VERSION" -D Win64=yes -D SourceDir=app -D IconFile=enclave.ico \
  -o "$NAME" enclave.wxs files.wxs 2> wixl.log) || { cat "$WORK/wixl.log" >&2; echo "build-msi.sh: wixl failed." >&2; exit 1; }
grep -v -e "has no property named 'Platform'" -e '^$' "$WORK/wixl.log" >&2 || true
MSI="$WORK/$NAME"

fail() { echo "build-msi.sh: $NAME $1." >&2; exit 1; }
table() { msiinfo export "$MSI" "$1" | tr -d '\r' | tail -n +4; }
# has ARGS: grep ARGS over all of stdin, read whole first. A plain `... | grep -q` under pipefail fails when grep
# leaves at its first match while the writer is still writing (SIGPIPE): the .deb check failed that way in CI.
has() { local text; text="$(cat)"; grep "$@" <<<"$text"; }
upgrade_code="$(sed -n 's/.*UpgradeCode="\([0-9A-F-]*\)".*/\1/p' packaging/windows/enclave.wxs)"
msiinfo suminfo "$MSI" | has -q '^Template: x64;' || fail "is not an x64 package"
table Property | has -qx $'ALLUSERS\t1' || fail "is not per machine (ALLUSERS=1)"
table Property | has -qx $'UpgradeCode\t{'"$upgrade_code"'}' || fail "does not carry UpgradeCode $upgrade_code"
table Upgrade | has -q $'WIX_UPGRADE_DETECTED' || fail "has no major-upgrade row"
table Upgrade | has -q $'WIX_DOWNGRADE_DETECTED' || fail "has no downgrade detection"
table LaunchCondition | has -q 'NOT WIX_DOWNGRADE_DETECTED' || fail "does not refuse a downgrade"
table InstallExecuteSequence | has -q '^RemoveExistingProducts' || fail "does not remove the older version"
table Shortcut | awk -F'\t' '$2=="ProgramMenuFolder" && $5=="[INSTALLDIR]enclave.exe"' | has -q . || fail "has no Start-menu shortcut to enclave.exe"
table Component | awk -F'\t' 'int($4 / 256) % 2 == 0 {bad=1} END {exit bad}' || fail "has 32-bit components"
for file in enclave.exe enclave-cli.exe vcruntime140.dll vcruntime140_1.dll msvcp140.dll; do
  table File | awk -F'\t' -v f="$file" 'tolower($3) ~ ("(^|\\|)" f "$")' | has -q . || fail "lacks $file"
done
[ -z "$(table RemoveFile)" ] || fail "removes files it did not install (RemoveFile rows), which could touch user data"
files_in="$(wc -l < "$WORK/files.txt")"
files_msi="$(table File | wc -l)"
[ "$files_in" = "$files_msi" ] || fail "holds $files_msi files, but $DIST has $files_in"
mv "$MSI" "$OUT/$NAME"
echo "built $OUT/$NAME ($files_msi files, $(( $(stat -c %s "$OUT/$NAME") / 1048576 )) MiB) in $((SECONDS - start)) s; checks passed"
