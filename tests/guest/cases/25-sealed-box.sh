#!/bin/sh
# No container reaches the initramfs's /bin/box. box-init re-executed itself
# from a sealed copy of box in memory before its first container (each is a
# fork of PID 1), keeping its name. A default `box run` confines its
# container with Landlock where the kernel has it: executing /proc/self/exe
# (here a link to it named box-init) is refused, box's file being outside
# the container's root. A container box does not confine (--cap-add
# sys_admin) gets a box run re-executed from box-init's copy (it is of the
# same file): what its command runs through /proc/self/exe is that copy.
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
case "$status:$out" in
126:*"outside the container's root"*) echo "default container: refused: $out" ;;
0:/memfd:*) echo "default container: no Landlock in this kernel, box-init's copy: $out" ;;
*) echo "default container: box run exited $status: $out"; exit 1 ;;
esac
out=$(box run --cap-add sys_admin --rootfs $root --bind /bin/busybox:/bin/busybox:ro -- \
    /bin/box-init --subreaper -- /bin/busybox readlink /proc/1/exe 2>&1)
status=$?
echo "container's init: $out"
[ "$status" -eq 0 ] || { echo "box run exited $status"; exit 1; }
case "$out" in /memfd:*) ;; *) echo "the container's init runs from $out, not a sealed copy"; exit 1 ;; esac
[ "$out" = "$exe" ] || { echo "box run made a copy of its own, not box-init's"; exit 1; }
