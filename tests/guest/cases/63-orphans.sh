#!/bin/sh
# 200 orphans leave no zombie: under `box run --init` (box-init as the
# container's PID 1), and in the spec 63-orphans started by box-init itself.
. /tests/lib.sh
out=$(run_in orphans --init -- /bin/busybox sh -c \
    'for i in $(/bin/busybox seq 200); do (/bin/busybox sleep 0.2 &); done; /bin/busybox sleep 1.5; echo zombies $(/bin/busybox ps -o stat | /bin/busybox grep -c ^Z)' 2>&1)
echo "box run --init: $out"
[ "$out" = "zombies 0" ] || { echo "zombies left under box run --init"; exit 1; }
wait_log "63-orphans: exited" 30 || exit 1
log | grep "zombies" | tail -n 3
zombies=$(ps -o stat | grep -c '^Z')
[ "$zombies" -eq 0 ] || { echo "$zombies zombies on the guest"; ps -o pid,stat,args | grep ' Z'; exit 1; }
