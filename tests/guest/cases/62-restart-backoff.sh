#!/bin/sh
# restart on-failure: 62-flaky exits 1 three times, then 0. box-init restarts
# it after growing delays (100, 200, 400 ms) and not after the success.
. /tests/lib.sh
wait_log "62-flaky: exited with status 0" 30 || exit 1
sleep 1
lines=$(log | grep "62-flaky:")
echo "$lines"
delays=$(echo "$lines" | sed -n 's/.*restarting in \([0-9]*\) ms.*/\1/p' | tr '\n' ' ')
[ "$delays" = "100 200 400 " ] || { echo "restart delays were '$delays', not 100 200 400"; exit 1; }
starts=$(echo "$lines" | grep -c "started")
[ "$starts" -eq 4 ] || { echo "started $starts times, not 4 (no restart after success)"; exit 1; }
