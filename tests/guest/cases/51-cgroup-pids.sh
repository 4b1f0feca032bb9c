#!/bin/sh
# cgroup v2: under --pids 20 a fork loop cannot pass 20 tasks. xargs forks
# sleeps until the kernel refuses; the container's shell then execs (no fork)
# so it stays up while the guest reads the group's counters.
. /tests/lib.sh
run_in pids -d --name pids --pids 20 -- /bin/busybox sh -c \
    '/bin/busybox seq 40 | /bin/busybox xargs -P 40 -n 1 /bin/busybox sleep 100 2>/dev/null; exec /bin/busybox sleep 100' \
    || { echo "box run -d failed"; exit 1; }
group=/sys/fs/cgroup/box/pids
for _ in $(seq 50); do
    grep -q "max [1-9]" $group/pids.events 2>/dev/null && break
    sleep 0.2
done
current=$(cat $group/pids.current)
events=$(cat $group/pids.events)
echo "pids.current $current; pids.events: $events"
box stop -t 0 pids >/dev/null
[ "$current" -le 20 ] || { echo "$current tasks under --pids 20"; exit 1; }
echo "$events" | grep -q "max [1-9]" || { echo "the fork loop never hit the limit"; exit 1; }
sleep 0.2
no_cgroup_left pids
