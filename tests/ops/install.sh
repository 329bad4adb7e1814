#!/bin/bash
# tests/ops/install.sh: make install never overwrites a file under /etc
# (issue 18): an admin's edit stays, the new file goes beside it as .dist;
# an unedited file gets no .dist; a file the admin removed comes back.
set -u
. "$(dirname "$0")/../lib/dm.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/dm-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
ETC=$T/root/etc/diariemilter

inst() {
    make -s -C "$DM_REPO" install DESTDIR="$T/root" PREFIX=/usr BUILD="$DM_BUILD" \
        >>"$T/install.log" 2>&1
}

check "first make install succeeds" inst
check "... installs diariemilter.conf" cmp -s "$DM_REPO/etc/diariemilter.conf" "$ETC/diariemilter.conf"
check "... and the templates" cmp -s "$DM_REPO/etc/templates/sv/reasons.conf" \
    "$ETC/templates/sv/reasons.conf"
check "... and no .dist anywhere" test -z "$(find "$T/root" -name '*.dist')"

# The admin edits the configuration and a template, and removes a word list.
words=$(cd "$DM_REPO/etc" && find rules -type f | head -1)
sed -i 's/^user =$/user = diariemilter/' "$ETC/diariemilter.conf"
echo "# lokal ändring" >>"$ETC/templates/sv/reasons.conf"
cp "$ETC/diariemilter.conf" "$T/edited.conf"
cp "$ETC/templates/sv/reasons.conf" "$T/edited-reasons.conf"
rm "$ETC/$words"

check "second make install succeeds" inst
check "the edited diariemilter.conf is kept" cmp -s "$T/edited.conf" "$ETC/diariemilter.conf"
check "... the new one is beside it as .dist" \
    cmp -s "$DM_REPO/etc/diariemilter.conf" "$ETC/diariemilter.conf.dist"
check "the edited template is kept" cmp -s "$T/edited-reasons.conf" "$ETC/templates/sv/reasons.conf"
check "... with its .dist" cmp -s "$DM_REPO/etc/templates/sv/reasons.conf" \
    "$ETC/templates/sv/reasons.conf.dist"
check "an unedited file gets no .dist" test ! -e "$ETC/rules.conf.dist"
check "exactly two .dist files" test "$(find "$T/root" -name '*.dist' | wc -l)" -eq 2
check "a removed word list ($words) is installed again" cmp -s "$DM_REPO/etc/$words" "$ETC/$words"
check "make install says which files differ" grep -q "diariemilter.conf.dist" "$T/install.log"

dm_summary
