#!/bin/sh
# cgroup v2: a process that allocates past --memory 32M is killed by the OOM
# killer; box run says so and exits 137; the group is gone afterwards.
. /tests/lib.sh
out=$(run_in mem --name mem --memory 32M -- /bin/busybox sh -c \
    'x=$(/bin/busybox head -c 100000000 /dev/zero | /bin/busybox tr "\0" a); echo survived' 2>&1)
status=$?
echo "$out"
[ "$status" -eq 137 ] || { echo "box run exited $status, not 137"; exit 1; }
echo "$out" | grep -q survived && { echo "the allocation survived the limit"; exit 1; }
echo "$out" | grep -q "hit its memory limit (--memory 32M)" || { echo "box did not say the memory limit was hit"; exit 1; }
no_cgroup_left mem
