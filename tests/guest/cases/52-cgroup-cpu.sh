#!/bin/sh
# cgroup v2: --cpu 20000/100000 throttles a busy loop (cpu.stat nr_throttled
# grows while it runs).
. /tests/lib.sh
run_in cpu -d --name cpu --cpu 20000/100000 -- /bin/busybox sh -c 'while :; do :; done' \
    || { echo "box run -d failed"; exit 1; }
stat=/sys/fs/cgroup/box/cpu/cpu.stat
cat /sys/fs/cgroup/box/cpu/cpu.max
before=$(awk '$1 == "nr_throttled" { print $2 }' $stat)
sleep 1.5
after=$(awk '$1 == "nr_throttled" { print $2 }' $stat)
box stop -t 0 cpu >/dev/null
echo "nr_throttled $before -> $after"
[ "$after" -gt "$before" ] || { echo "the busy loop was not throttled"; exit 1; }
sleep 0.2
no_cgroup_left cpu
