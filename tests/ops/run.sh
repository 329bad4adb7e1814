#!/bin/sh
# tests/ops/run.sh: every operations test (make ops-test).
set -u
cd "$(dirname "$0")" || exit 1
status=0
for t in conf.sh install.sh logrotate.sh deps.sh schema.sh ctl-root.sh; do
    echo "== tests/ops/$t"
    ./"$t" || status=1
done
exit $status
