#!/bin/sh
# No container reaches the initramfs's /bin/box. box-init re-executed itself
# from a sealed copy of box in memory before its first container (each is a
# fork of PID 1), keeping its name; `box run` re-executes itself from that
# same copy (it is of the same file), so what a container's command runs
# through /proc/self/exe (here a link to it named box-init, which stays as
# the container's init) is box-init's copy too.
exe=$(readlink /proc/1/exe)
comm=$(cat /proc/1/comm)
echo "PID 1: $comm, $exe"
case "$exe" in /memfd:*) ;; *) echo "PID 1 runs from $exe, not a sealed copy"; exit 1 ;; esac
[ "$comm" = init ] || { echo "PID 1 is named $comm, not init"; exit 1; }

root=/srv/sealed
mkdir -p $root/bin $root/dev $root/proc $root/sys $root/tmp || exit 1
ln -sf /proc/self/exe $root/bin/box-init
out=$(box run --rootfs $root --bind /bin/busybox:/bin/busybox:ro -- \
    /bin/box-init --subreaper -- /bin/busybox readlink /proc/1/exe 2>&1)
status=$?
echo "container's init: $out"
[ "$status" -eq 0 ] || { echo "box run exited $status"; exit 1; }
case "$out" in /memfd:*) ;; *) echo "the container's init runs from $out, not a sealed copy"; exit 1 ;; esac
[ "$out" = "$exe" ] || { echo "box run made a copy of its own, not box-init's"; exit 1; }
