#!/bin/sh
# A named, detached container, seen through box's own commands: box run -d
# prints its name; box ps finds it running (its PID and start time read back
# from /run/box and /proc) with an uptime and its memory use; box exec joins
# it (namespaces, root, environment, seccomp filter); box logs has its
# output; box stop ends it, box ps then shows how, and box rm leaves nothing
# behind. Run on every board, so on every architecture box is built for.
. /tests/lib.sh
root=$(container_root named) || exit 1
out=$(box run -d --name named --rootfs "$root" --hostname inside --memory 32M \
    --env GREETING=hello --bind /bin/busybox:/bin/busybox:ro -- \
    /bin/busybox sh -c 'echo started; while :; do /bin/busybox sleep 1; done' 2>&1)
[ "$out" = named ] || { echo "box run -d printed '$out', not the name"; exit 1; }

row=$(box ps | grep '^named ')
echo "box ps: $row"
set -- $row
[ "$3" = running ] || { echo "box ps says '$3', not running"; exit 1; }
pid=$2
grep -q 'GREETING=hello' "/proc/$pid/environ" || { echo "PID $pid is not the container's"; exit 1; }
case $4 in *s) ;; *) echo "uptime '$4' is not a duration"; exit 1 ;; esac
case $5 in *K | *M) ;; *) echo "memory '$5' is not a size"; exit 1 ;; esac

inside=$(box exec named -- /bin/busybox sh -c \
    'echo "$(/bin/busybox hostname) $GREETING $(/bin/busybox cut -d" " -f1 /proc/1/stat)"; /bin/busybox grep "^Seccomp:" /proc/self/status' 2>&1)
echo "box exec: $inside"
echo "$inside" | grep -qx "inside hello 1" || { echo "box exec did not join the container"; exit 1; }
echo "$inside" | grep -q "^Seccomp:.*2" || { echo "box exec runs without the container's seccomp filter"; exit 1; }

for _ in $(seq 20); do
    box logs named | grep -qx started && break
    sleep 0.5
done
box logs named | grep -qx started || { echo "box logs named has no 'started'"; exit 1; }

# sh as PID 1 ignores SIGTERM: stop waits 1 s, then kills.
box stop named --time 1 || { echo "box stop exited $?"; exit 1; }
[ -e "/proc/$pid" ] && { echo "PID $pid is still there"; exit 1; }
no_cgroup_left named || exit 1
row=$(box ps | grep '^named ')
echo "box ps after box stop: $row"
echo "$row" | grep -q ' exited 137 ' || { echo "box ps does not show it killed by SIGKILL"; exit 1; }
box rm named || { echo "box rm exited $?"; exit 1; }
box ps | grep -q '^named ' && { echo "box ps still lists it after box rm"; exit 1; }
[ -e /run/box/named ] && { echo "/run/box/named was left behind"; exit 1; }
exit 0
