#!/bin/sh
# boot-disk: test
# boot-append: box.switch_root=/dev/vda
# boot-console: box-init: switching to the root at /newroot: /sbin/init
# boot-append: root=/dev/vda rootfstype=ext4 ro rootwait init=/bin/box-init
# boot-console: box-init: switching to the root at /newroot: /bin/box-init
#
# The whole path from the initramfs to a real root: box-init loads the
# board's modules (virtio_pci, virtio_blk, ext4 and theirs) itself, waits
# for /dev/vda, mounts it (its ext4 found from the superblock in the first
# boot, named by rootfstype= in the second; read-write, then read-only with
# `ro`), moves /dev, /proc, /sys and /run there, frees the initramfs and
# execs the disk's init, box-init again: that one sees it is PID 1 on a
# real root with the kernel filesystems mounted, and starts the disk's own
# specs with their cgroups, and this runner from the disk's /etc/box/rc.
. /tests/lib.sh
boot=$(cmdline_value box.test.boot)

root=$(mount_of /)
echo "/: $root"
case "$boot:$root" in
1:"ext4 /dev/vda rw"*) ;;
2:"ext4 /dev/vda ro"*) ;;
*) echo "boot $boot: / is not the disk's ext4 as asked: $root"; exit 1 ;;
esac

# The kernel filesystems came along; cgroup2 is mounted again by the
# disk's box-init.
for want in "/proc proc" "/sys sysfs" "/dev devtmpfs" "/run tmpfs" "/sys/fs/cgroup cgroup2"; do
    mount_of "${want% *}" | grep -q "^${want#* } " || { echo "PID 1 has no ${want#* } on ${want% *}"; exit 1; }
done
# PID 1 runs from the disk's /bin/box itself: Landlock confines every
# container of the disk's specs, so box-init took no sealed copy (nor did
# the initramfs's, which started none). Without Landlock it would run from
# a copy named after the file it copied: box@DEV:INO:…, the disk's /bin/box.
wait_log 'box-init: runs from' || exit 1
exe=$(readlink /proc/1/exe)
runs=$(log | grep 'box-init: runs from')
echo "PID 1: $exe; $runs"
case "$runs:$exe" in
*"runs from box's file: Landlock confines every container:/bin/box") ;;
*"the kernel has no Landlock ABI 2:"*"box@$(stat -L -c %d:%i /bin/box):"*) ;;
*) echo "PID 1 runs $exe, not the disk's /bin/box ($(stat -L -c %d:%i /bin/box)) as it says"; exit 1 ;;
esac

# Two box-inits, one handover, modules loaded by the first.
starts=$(log | grep -c 'box-init: starting (box')
[ "$starts" -eq 2 ] || { echo "box-init started $starts times, not twice"; log | grep box-init; exit 1; }
log | grep -q 'box-init: loaded [0-9]* kernel modules' || { echo "no modules loaded by box-init"; exit 1; }
for module in virtio_blk ext4 jbd2 crc32c_generic; do
    [ -d /sys/module/$module ] || { echo "module $module is not loaded"; exit 1; }
done

# The disk's spec runs, in its cgroup with its limit; the initramfs's
# specs never started (the handover comes before any).
wait_log '90-on-disk: started' || exit 1
for _ in $(seq 30); do
    [ -f /sys/fs/cgroup/box/90-on-disk/memory.max ] && break
    sleep 1
done
max=$(cat /sys/fs/cgroup/box/90-on-disk/memory.max 2>/dev/null)
[ "$max" = 33554432 ] || { echo "90-on-disk: memory.max is '$max', not 32M"; exit 1; }
if log | grep -q -e '30-exitcode: started' -e '60-first: started'; then
    echo "a spec of the initramfs started"
    exit 1
fi

# What the first boot wrote is there in the second, which cannot write.
if [ "$boot" = 1 ]; then
    echo "written in boot 1" >/data/90-mark || { echo "cannot write on the read-write root"; exit 1; }
else
    [ "$(cat /data/90-mark 2>/dev/null)" = "written in boot 1" ] || { echo "boot 1's file is not on the disk"; exit 1; }
    if echo x 2>/dev/null >/data/90-other; then
        echo "wrote on a root mounted with ro"
        exit 1
    fi
fi
echo "report: boot $boot: $root"
