#!/bin/sh
# cgroup v2: --cpuset 0 confines the container to CPU 0.
. /tests/lib.sh
out=$(run_in cpuset --name cpuset --cpuset 0 -- /bin/busybox grep Cpus_allowed_list /proc/self/status 2>&1)
echo "$out"
echo "$out" | grep -qx "Cpus_allowed_list:	0" || { echo "not confined to CPU 0"; exit 1; }
no_cgroup_left cpuset
