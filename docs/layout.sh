#!/bin/sh
# docs/layout.sh: keep the layout of docs/ARCHITECTURE.md true.
#
# Every #include "..." of a .c or .h file in a room (a top-level
# directory of C sources) must name a header of a room that room may
# include, as the table below says; a room's internal header
# (dm_*_int.h) is for that room alone.  Headers are included by bare name
# (the Makefile gives -I for every room), so each name must be found in
# exactly one room.  tests/ and bench/ are not rooms: tests may include
# what they test.  The build directory ($BUILD, default build) is not
# looked at.
#
# Exit status: 0 all well, 1 a problem (each one is printed).
set -u

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$top" || exit 1

# room: the rooms it may include besides itself.  The flow runs one way,
# down this table: a room includes only rooms above its own line.
rules='
common:
model:    common
metrics:  common model
policy:   common model
extract:  common model
mime:     common model extract
ldap:     common model metrics
store:    common model
deliver:  common
engine:   common model metrics policy extract mime ldap store deliver
milter:   common model metrics policy extract mime ldap store deliver engine
ctl:      common model metrics policy extract mime ldap store deliver engine
'

rooms=$(printf '%s\n' "$rules" | sed -n 's/^\([a-z]*\):.*/\1/p')
status=0

# Every directory with C sources is a room the table knows (the build
# directory, $BUILD, holds others' sources: fetched test programs).
build=${BUILD:-build}
for d in $(find . \( -path "./${build#./}" -o -path './.?*' -o -path ./tests -o -path ./bench \) \
               -prune -o -path './*/*' -name '*.[ch]' -print | cut -d/ -f2 | sort -u); do
    if ! printf '%s\n' "$rooms" | grep -qx "$d"; then
        echo "docs/layout.sh: $d/ holds C sources but has no line in the table" >&2
        status=1
    fi
done

# Which room each header lives in ("name room" lines).
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
for r in $rooms; do
    [ -d "$r" ] || continue
    find "$r" -name '*.h' | while read -r h; do
        printf '%s %s\n' "$(basename "$h")" "$r"
    done
done | sort > "$tmp/headers"
dups=$(cut -d' ' -f1 "$tmp/headers" | uniq -d)
for h in $dups; do
    echo "docs/layout.sh: $h is in more than one room: $(grep "^$h " "$tmp/headers" | cut -d' ' -f2 | tr '\n' ' ')" >&2
    status=1
done

printf '%s\n' "$rules" | awk -F: 'NF == 2 { print $1 ":" $2 }' > "$tmp/rules"
n=0
for r in $rooms; do
    [ -d "$r" ] || continue
    for f in $(find "$r" -name '*.[ch]' | sort); do
        n=$((n + 1))
        # "line<TAB>header" for every #include "..."
        awk '/^[ \t]*#[ \t]*include[ \t]*"/ {
                 s = $0; sub(/^[^"]*"/, "", s); sub(/".*$/, "", s)
                 printf "%d\t%s\n", FNR, s
             }' "$f" > "$tmp/inc"
        while IFS='	' read -r line inc; do
            base=$(basename "$inc")
            to=$(awk -v h="$base" '$1 == h { print $2 }' "$tmp/headers")
            if [ -z "$to" ]; then
                # A header beside the file, outside any room's table
                # (a worker's own): fine when it is there.
                [ -f "$(dirname "$f")/$inc" ] && continue
                echo "docs/layout.sh: $f:$line: \"$inc\" is in no room" >&2
                status=1
                continue
            fi
            [ "$to" = "$r" ] && continue
            case $base in
            *_int.h)
                echo "docs/layout.sh: $f:$line: \"$inc\" is internal to $to/" >&2
                status=1
                continue ;;
            esac
            allowed=$(awk -F: -v r="$r" '$1 == r { print $2 }' "$tmp/rules")
            case " $allowed " in
            *" $to "*) ;;
            *)
                echo "docs/layout.sh: $f:$line: $r/ may not include $to/ (\"$inc\"): see docs/ARCHITECTURE.md" >&2
                status=1 ;;
            esac
        done < "$tmp/inc"
    done
done

# Privacy is policy's to decide: whether a message is private or party
# mail is asked in policy/ alone (model/ defines it); the other rooms
# obey policy's answers (dm_policy_action_owed, dm_policy_journal_keeps,
# ...) and never judge a class themselves.
for r in $rooms; do
    case $r in model | policy) continue ;; esac
    [ -d "$r" ] || continue
    for hit in $(grep -rn --include='*.[ch]' 'dm_class_is_private' "$r" | cut -d: -f1,2); do
        echo "docs/layout.sh: $hit: dm_class_is_private outside policy/: ask policy (see docs/ARCHITECTURE.md)" >&2
        status=1
    done
done

if [ "$status" -eq 0 ]; then
    echo "docs/layout.sh: ok ($n files, $(printf '%s\n' $rooms | wc -l) rooms)"
fi
exit "$status"
