#!/bin/sh
# docs/check.sh: keep the man pages honest.
#
#   1. groff -man -ww -z prints nothing for each page (no warnings);
#   2. every [section] key of etc/diariemilter.conf is documented in
#      docs/diariemilter.conf.5 under that section, with the same default,
#      and the page documents no key the file lacks;
#   3. every metric metrics/dm_metrics.c renders is documented under
#      .SH METRICS of docs/diariemilter.8 (as ".B diariemilter_NAME"), the
#      page documents no other, and the alert rules and the dashboard in
#      packaging/monitoring/ parse and name only metrics that exist.
#
# The page documents a key as a .TP (or .TQ) whose next line is
#   .B key = default
# exactly as the key stands in etc/diariemilter.conf (roff escapes such as
# \- allowed), under a ".SS [section]" heading.
#
# Only the .SH "SECTIONS AND KEYS" part of the page is read for keys.
#
# Exit status: 0 all well, 1 a problem (each one is printed).  Runs from
# any directory; needs groff (Debian: groff-base).
set -u

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$top" || exit 1

conf=etc/diariemilter.conf
page5=docs/diariemilter.conf.5
pages="docs/diariemilter.8 docs/diariectl.8 docs/diariemilter.conf.5"
status=0

if ! command -v groff >/dev/null 2>&1; then
    echo "docs/check.sh: groff not found (Debian: apt-get install groff-base)" >&2
    exit 1
fi

for p in $pages; do
    if [ ! -f "$p" ]; then
        echo "docs/check.sh: $p: missing" >&2
        status=1
        continue
    fi
    # LC_ALL=C: the pages are ASCII with roff escapes; any other byte
    # would draw a warning here.
    out=$(LC_ALL=C groff -man -ww -z "$p" 2>&1)
    if [ -n "$out" ]; then
        echo "docs/check.sh: $p: groff warnings:" >&2
        printf '%s\n' "$out" >&2
        status=1
    fi
done

for f in "$conf" "$page5"; do
    if [ ! -f "$f" ]; then
        echo "docs/check.sh: $f: missing" >&2
        exit 1
    fi
done

# One line per key, "section<TAB>key<TAB>default", from each side.
keys_conf() {
    awk '
        function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
        /^[ \t]*#/ || /^[ \t]*$/ { next }
        /^[ \t]*\[[^]]+\][ \t]*$/ {
            sec = $0; sub(/^[ \t]*\[/, "", sec); sub(/\][ \t]*$/, "", sec); next
        }
        /=/ {
            i = index($0, "=")
            printf "%s\t%s\t%s\n", sec, trim(substr($0, 1, i - 1)), trim(substr($0, i + 1))
        }
    ' "$conf"
}

keys_page() {
    awk '
        function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
        function unroff(s,   out, c, n) {
            # \- \e \~ \& \(xx \fX, and the double quotes of macro arguments.
            out = ""
            while ((n = index(s, "\\")) > 0) {
                out = out substr(s, 1, n - 1)
                c = substr(s, n + 1, 1)
                if (c == "-") { out = out "-"; s = substr(s, n + 2) }
                else if (c == "e") { out = out "\\"; s = substr(s, n + 2) }
                else if (c == "~") { out = out " "; s = substr(s, n + 2) }
                else if (c == "&") { s = substr(s, n + 2) }
                else if (c == "f") { s = substr(s, n + 3) }
                else if (c == "(") { out = out "?"; s = substr(s, n + 4) }
                else { out = out c; s = substr(s, n + 2) }
            }
            out = out s
            gsub(/"/, "", out)
            return out
        }
        # Only the keys under .SH "SECTIONS AND KEYS" count: the rules
        # file has [sections] and keys of its own further down.
        /^\.SH/ { inkeys = ($0 ~ /SECTIONS AND KEYS/); sec = ""; tag = 0; next }
        /^\.SS/ {
            sec = ""
            if (inkeys && match($0, /\[[A-Za-z0-9_]+\]/))
                sec = substr($0, RSTART + 1, RLENGTH - 2)
            tag = 0
            next
        }
        /^\.T[PQ][ \t]*$/ { tag = 1; next }
        tag && /^\.B[ \t]/ {
            tag = 0
            if (sec == "")
                next
            s = unroff(substr($0, 4))
            i = index(s, "=")
            if (i == 0) {
                printf "%s\t%s\t%s\n", sec, trim(s), "(no default shown)"
                next
            }
            printf "%s\t%s\t%s\n", sec, trim(substr(s, 1, i - 1)), trim(substr(s, i + 1))
            next
        }
        { tag = 0 }
    ' "$page5"
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
keys_conf > "$tmp/conf"
keys_page > "$tmp/page"

if [ ! -s "$tmp/conf" ]; then
    echo "docs/check.sh: $conf: no keys found" >&2
    exit 1
fi

# Compare: a key missing from the page, a default that differs, a key the
# page documents that the file lacks.
awk -F '\t' -v conf="$conf" -v page="$page5" '
    FNR == NR { def[$1 "\t" $2] = $3; order[++n] = $1 "\t" $2; next }
    {
        k = $1 "\t" $2
        if (k in seen) {
            printf "docs/check.sh: %s: [%s] %s documented twice\n", page, $1, $2
            bad = 1
        }
        seen[k] = 1
        doc[k] = $3
    }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]
            split(k, p, "\t")
            if (!(k in doc)) {
                printf "docs/check.sh: %s: [%s] %s is not documented\n", page, p[1], p[2]
                bad = 1
            } else if (doc[k] != def[k]) {
                printf "docs/check.sh: %s: [%s] %s: default \"%s\" but %s says \"%s\"\n", \
                       page, p[1], p[2], doc[k], conf, def[k]
                bad = 1
            }
        }
        for (k in doc) {
            if (!(k in def)) {
                split(k, p, "\t")
                printf "docs/check.sh: %s: [%s] %s is documented but not in %s\n", \
                       page, p[1], p[2], conf
                bad = 1
            }
        }
        exit bad
    }
' "$tmp/conf" "$tmp/page" >&2 || status=1

# 3. The metrics: the families the code renders (a histogram by its base
# name), those the page documents, and those monitoring/ uses.
grep -o '"diariemilter_[a-z_]*' metrics/dm_metrics.c | tr -d '"' | sort -u > "$tmp/metrics"
awk '/^\.SH/ { in_m = ($0 ~ /^\.SH METRICS/); next }
     in_m && /^\.B diariemilter_/ { s = $2; sub(/\{.*/, "", s); print s }' \
    docs/diariemilter.8 | sort > "$tmp/metrics_doc"
if [ ! -s "$tmp/metrics" ]; then
    echo "docs/check.sh: metrics/dm_metrics.c: no metric names found" >&2
    status=1
fi
comm -23 "$tmp/metrics" "$tmp/metrics_doc" | sed 's|^|docs/check.sh: docs/diariemilter.8: METRICS does not document |' >&2
comm -13 "$tmp/metrics" "$tmp/metrics_doc" | sed 's|^|docs/check.sh: docs/diariemilter.8: METRICS documents a metric the code does not render: |' >&2
[ "$(comm -3 "$tmp/metrics" "$tmp/metrics_doc" | wc -l)" -eq 0 ] || status=1
python3 - "$tmp/metrics" packaging/monitoring/*.json packaging/monitoring/*.yml <<'PY' >&2 || status=1
import json, re, sys
import yaml
known = set(open(sys.argv[1]).read().split())
bad = 0
for path in sys.argv[2:]:
    try:
        text = open(path).read()
        (json.loads if path.endswith(".json") else yaml.safe_load)(text)
    except Exception as e:
        print(f"docs/check.sh: {path}: does not parse: {e}")
        bad = 1
        continue
    for name in sorted(set(re.findall(r"diariemilter_[a-z_]+", text))):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in known and base not in known and name != "diariemilter_alerts":
            print(f"docs/check.sh: {path}: {name} is no metric of metrics/dm_metrics.c")
            bad = 1
sys.exit(bad)
PY

n=$(wc -l < "$tmp/conf")
if [ "$status" -eq 0 ]; then
    echo "docs/check.sh: ok ($n keys documented, $(wc -l < "$tmp/metrics") metrics documented, $(echo $pages | wc -w) pages clean)"
fi
exit "$status"
