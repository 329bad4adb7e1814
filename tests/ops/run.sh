#!/bin/sh
# tests/ops/run.sh: every operations test (make ops-test).  Exit 77 from a
# test is a skip (not root, no user nobody).
set -u
cd "$(dirname "$0")" || exit 1
status=0
for t in conf.sh install.sh logrotate.sh deps.sh schema.sh ctl-root.sh; do
    echo "== tests/ops/$t"
    ./"$t"
    rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "skip tests/ops/$t"
    elif [ "$rc" -ne 0 ]; then
        status=1
    fi
done
exit $status
