#!/bin/sh
# Bad limits: one line on stderr, exit 125, no group left under box/.
. /tests/lib.sh
root=$(container_root bad)
before=$(ls /sys/fs/cgroup/box | sort)
fail=0
for opts in "--memory 12Q" "--memory 0" "--pids -1" "--cpu 5" "--cpuset 99"; do
    err=$(box run --rootfs "$root" --name bad $opts /bin/busybox true 2>&1 >/dev/null)
    status=$?
    lines=$(echo "$err" | grep -c .)
    echo "$opts -> $status: $err"
    if [ "$status" -ne 125 ] || [ "$lines" -ne 1 ]; then
        echo "$opts: expected one line and status 125"
        fail=1
    fi
    echo "$err" | grep -q -- "${opts% *}" || { echo "$opts: the message does not name the option"; fail=1; }
done
after=$(ls /sys/fs/cgroup/box | sort)
[ "$before" = "$after" ] || { echo "groups changed: $before / $after"; fail=1; }
exit $fail
