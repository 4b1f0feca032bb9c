#!/bin/sh
# No container reaches the initramfs's /bin/box. Each of box-init's is a
# fork of PID 1: box-init runs from box's own file only when Landlock
# confines every one of them, and otherwise re-executes itself from a
# sealed copy of box in memory, keeping its name, once it has read its
# specs (after rc, which runs once). This image's 63-orphans has `init`
# (box-init stays in the container), which Landlock cannot confine: PID 1
# runs from the copy. (90-switch-root boots a disk whose specs Landlock
# all confines: there PID 1 runs from the disk's /bin/box.)
# A default `box run` confines its container with Landlock where the
# kernel has it: executing /proc/self/exe (here a link to it named
# box-init) is refused, box's file being outside the container's root. A
# container box does not confine (--cap-add sys_admin) gets a box run
# re-executed from box-init's copy (it is of the same file): what its
# command runs through /proc/self/exe is that copy.
. /tests/lib.sh
# (This runner starts from rc, before box-init reads the specs.)
wait_log 'box-init: runs from' || exit 1
exe=$(readlink /proc/1/exe)
comm=$(cat /proc/1/comm)
runs=$(log | grep 'box-init: runs from')
echo "PID 1: $comm, $exe; $runs"
case "$exe" in /memfd:*) ;; *) echo "PID 1 runs from $exe, not a sealed copy"; exit 1 ;; esac
[ "$comm" = init ] || { echo "PID 1 is named $comm, not init"; exit 1; }
case "$runs" in
*"runs from a sealed copy of box, for 63-orphans: Landlock cannot confine its container") ;;
*"runs from a sealed copy of box, for "*": the kernel has no Landlock ABI 2") ;;
*) echo "box-init says not why it runs from a sealed copy: $runs"; exit 1 ;;
esac
# The copy went on from the specs: the boot before them happened once.
for line in 'starting (box' 'running /etc/box/rc' 'read [0-9]* specs' 'runs from'; do
    n=$(log | grep -c "box-init: $line")
    [ "$n" -eq 1 ] || { echo "box-init logged '$line' $n times, not once"; exit 1; }
done

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
