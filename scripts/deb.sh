#!/bin/sh
# scripts/deb.sh [OUTDIR]: the Debian package, built from a clean copy of
# this tree (make deb).
#
# The tracked files (as they are in the working tree, so that what is
# about to be committed is what gets built) are copied into OUTDIR/src
# (default build/deb/src) with packaging/debian as debian/; the build
# dependencies are installed when missing (scripts/build-deps.sh); then
# dpkg-buildpackage -b there, which writes diariemilter_VERSION_ARCH.deb
# (and its -dbgsym, .buildinfo, .changes) into OUTDIR.  debian/rules
# clean runs "make distclean" in the copy, never in this tree.  The
# build's output goes to OUTDIR/build.log; one line says what was built.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
log=$out/build.log

rm -rf "$src"
rm -f "$out"/diariemilter_* "$out"/diariemilter-dbgsym_*
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # --ignore-failed-read: a tracked file deleted but not yet committed.
    (cd "$top" && git ls-files -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
        tar -xf - -C "$src"
else
    tar -C "$top" --exclude=./build --exclude=./debian -cf - . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -R "$top/packaging/debian" "$src/debian"

DM_DEPS_LOG=${DM_DEPS_LOG:-$top/build/deps.log} "$top/scripts/build-deps.sh" "$src"

# Two jobs at most: the machines that run make check are shared.
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
    dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
    echo "deb.sh: dpkg-buildpackage failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
set -- "$out"/diariemilter_*.deb
[ -f "$1" ] || { echo "deb.sh: no .deb in $out (log: $log)" >&2; exit 1; }
echo "deb.sh: built $1 (log: $log)"
