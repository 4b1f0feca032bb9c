#!/bin/sh
# box-init starts /etc/box/*.box in name order: 60-first before 61-second.
. /tests/lib.sh
wait_log "61-second: started" || exit 1
order=$(log | grep -e "60-first: started" -e "61-second: started" | sed 's/: started.*//')
echo "$order"
[ "$(echo $order)" = "box-init: 60-first box-init: 61-second" ] || { echo "not started in name order"; exit 1; }
