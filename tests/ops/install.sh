#!/bin/bash
# tests/ops/install.sh: make install never overwrites a file under /etc
# (issue 18): an admin's edit stays, the new file goes beside it as .dist;
# /etc gets only the configuration, the rules and templates go under
# PREFIX/share/diariemilter, and a site's override in /etc is left alone.
set -u
. "$(dirname "$0")/../lib/dm.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/dm-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
ETC=$T/root/etc/diariemilter
SHARE=$T/root/usr/share/diariemilter

inst() {
    make -s -C "$DM_REPO" install DESTDIR="$T/root" PREFIX=/usr BUILD="$DM_BUILD" \
        >>"$T/install.log" 2>&1
}

check "first make install succeeds" inst
check "... installs diariemilter.conf" cmp -s "$DM_REPO/etc/diariemilter.conf" "$ETC/diariemilter.conf"
check "... and nothing else under /etc/diariemilter (what sites override)" \
    test "$(find "$ETC" -mindepth 1 | wc -l)" -eq 1
check "... the rules and templates under /usr/share/diariemilter" \
    cmp -s "$DM_REPO/etc/templates/sv/reasons.conf" "$SHARE/templates/sv/reasons.conf"
check "... and no .dist anywhere" test -z "$(find "$T/root" -name '*.dist')"

# The admin edits the configuration and overrides a template; a shipped
# word list is lost (the next install brings it back).
words=$(cd "$DM_REPO/etc" && find rules -type f | head -1)
sed -i 's/^user =$/user = diariemilter/' "$ETC/diariemilter.conf"
mkdir -p "$ETC/templates/sv"
{ cat "$SHARE/templates/sv/reasons.conf"; echo "# lokal ändring"; } >"$ETC/templates/sv/reasons.conf"
cp "$ETC/diariemilter.conf" "$T/edited.conf"
cp "$ETC/templates/sv/reasons.conf" "$T/edited-reasons.conf"
rm "$SHARE/$words"

check "second make install succeeds" inst
check "the edited diariemilter.conf is kept" cmp -s "$T/edited.conf" "$ETC/diariemilter.conf"
check "... the new one is beside it as .dist" \
    cmp -s "$DM_REPO/etc/diariemilter.conf" "$ETC/diariemilter.conf.dist"
check "the site's template is kept" cmp -s "$T/edited-reasons.conf" "$ETC/templates/sv/reasons.conf"
check "exactly one .dist file" test "$(find "$T/root" -name '*.dist' | wc -l)" -eq 1
check "a lost shipped word list ($words) is installed again" cmp -s "$DM_REPO/etc/$words" "$SHARE/$words"
check "make install says which files differ" grep -q "diariemilter.conf.dist" "$T/install.log"

dm_summary
