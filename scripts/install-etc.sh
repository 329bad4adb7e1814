#!/bin/sh
# scripts/install-etc.sh SRC... DESTDIR: install configuration under /etc
# without ever overwriting what is there (make install).
#
# Each SRC (a file, or a directory copied file by file) goes into DESTDIR.
# A file that does not exist there is installed; one that exists with the
# same content is left alone; one that exists with other content (an
# admin's edit, or an older release) is left alone and the new one is
# installed beside it as FILE.dist, to compare and merge by hand.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 SRC... DESTDIR" >&2
    exit 64
fi
eval "dest=\${$#}"

# one SRC_FILE DEST_FILE
one() {
    if [ ! -e "$2" ]; then
        install -m 0644 "$1" "$2"
    elif cmp -s "$1" "$2"; then
        :
    else
        install -m 0644 "$1" "$2.dist"
        echo "install: $2 exists and differs: the new one is $2.dist"
    fi
}

i=1
for src in "$@"; do
    [ "$i" -lt $# ] || break
    i=$((i + 1))
    base=$(basename "$src")
    if [ -d "$src" ]; then
        # Directories first, then files, keeping relative paths.
        (cd "$src" && find . -type d) | while read -r d; do
            install -d "$dest/$base/$d"
        done
        (cd "$src" && find . -type f) | while read -r f; do
            one "$src/$f" "$dest/$base/$f"
        done
    else
        one "$src" "$dest/$base"
    fi
done
