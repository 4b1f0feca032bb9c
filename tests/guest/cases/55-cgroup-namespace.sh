#!/bin/sh
# --ns cgroup: the container's cgroup namespace is rooted at its own group.
. /tests/lib.sh
out=$(run_in cgns --name cgns --ns mount,uts,ipc,pid,cgroup --pids 50 -- /bin/busybox cat /proc/self/cgroup 2>&1)
echo "$out"
[ "$out" = "0::/" ] || { echo "inside, /proc/self/cgroup is not 0::/"; exit 1; }
no_cgroup_left cgns
