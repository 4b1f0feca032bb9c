#!/bin/sh
# cgroup v2: a process that allocates past --memory 32M is killed by the OOM
# killer; box run says so and exits 137; the group is gone afterwards.
# Another process OOM-killed leaves the status the command's.
. /tests/lib.sh
# (awk doubling a string reaches the limit in a few steps, where a shell
# reading 100 MB through tr took most of the case's minute under TCG.)
hog='BEGIN { s = "a"; while (1) s = s s }'
out=$(run_in mem --name mem --memory 32M -- /bin/busybox awk "$hog" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 137 ] || { echo "box run exited $status, not 137"; exit 1; }
echo "$out" | grep -q "hit its memory limit (--memory 32M)" || { echo "box did not say the memory limit was hit"; exit 1; }
no_cgroup_left mem

# An OOM kill of another process in the container is a note: the status
# stays the command's own (5 here, after its child was killed), in the
# foreground and in what a detached container records.
child_hog="/bin/busybox awk '$hog'; echo after; exit 5"
out=$(run_in mem-child --name mem-child --memory 32M -- /bin/busybox sh -c "$child_hog" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 5 ] || { echo "box run exited $status, not the command's 5"; exit 1; }
echo "$out" | grep -q "OOM killer ended it; the command exited 5" || { echo "box did not note the OOM kill"; exit 1; }
run_in mem-detached -d --name mem-detached --memory 32M -- /bin/busybox sh -c "$child_hog" >/dev/null || exit 1
for _ in $(seq 30); do
    grep -q exited /run/box/mem-detached/status 2>/dev/null && break
    sleep 1
done
recorded=$(cat /run/box/mem-detached/status)
[ "$recorded" = "exited 5 (OOM kill inside)" ] || { echo "the detached container recorded '$recorded'"; exit 1; }
no_cgroup_left mem-child && no_cgroup_left mem-detached
