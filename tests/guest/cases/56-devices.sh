#!/bin/sh
# A container opens only the devices box gives it, on cgroup v2 (a device
# program attached to its group). The attacker is root inside, writing to
# the guest's /dev/kmsg (c 1:11, which anyone root may write and dmesg then
# shows) through a node it makes, or one shipped in its rootfs; and to the
# console (c 5:1) through a node --device made with m only. A line that
# reaches dmesg, or an open that succeeds, is a hole.
. /tests/lib.sh
bb=/bin/busybox
fail() { echo "$1"; exit 1; }
leaked() { log | grep -q "$1"; }

# 1. The default container, without a cgroup: no CAP_MKNOD, and a node in
#    the image does not open (the rootfs is nodev).
root=$(container_root devices) || exit 1
mknod "$root/kmsg" c 1 11 || fail "cannot make the image's node"
out=$(run_in devices -- $bb sh -c "
    $bb mknod /dev/k c 1 11 && echo MADE
    echo BOX-LEAK-MKNOD > /dev/k
    echo BOX-LEAK-IMAGE > /kmsg
    echo done" 2>&1)
echo "default: $out"
echo "$out" | grep -q "^done" || fail "the container did not run"
echo "$out" | grep -qx MADE && fail "a default container made a device node"
leaked BOX-LEAK-MKNOD && fail "a default container wrote to /dev/kmsg through mknod"
leaked BOX-LEAK-IMAGE && fail "a default container wrote to /dev/kmsg through a node of its image"
echo "$out" | grep -q "can't create /kmsg: Permission denied" || fail "the image's node was not refused by nodev"

# 2. With CAP_MKNOD: a cgroup for the device rules alone, and with limits.
#    A node of an allowed device is made (the capability is there); the
#    program refuses kmsg's.
for limits in "" "--memory 32M"; do
    out=$(run_in devices --cap-add mknod $limits -- $bb sh -c "
        $bb mknod /dev/null2 c 1 3 && echo MADE-NULL
        $bb mknod /dev/k c 1 11 && echo MADE
        echo BOX-LEAK-CAP > /dev/k
        $bb cat /proc/self/cgroup
        echo done" 2>&1)
    echo "--cap-add mknod $limits: $out"
    echo "$out" | grep -q "^done" || fail "the container did not run"
    echo "$out" | grep -q MADE-NULL || fail "CAP_MKNOD was not given"
    echo "$out" | grep -qx MADE && fail "the device program allowed mknod of 1:11"
    leaked BOX-LEAK-CAP && fail "a container with CAP_MKNOD wrote to /dev/kmsg"
    echo "$out" | grep -q "^0::/box/box-" || fail "the container has no cgroup of its own"
done

# 3. --device: kmsg given w only (the host's node, bound read-only), the
#    console given m only (a node made by box that must not open).
out=$(run_in devices --device /dev/kmsg:/dev/kmsg:w --device /dev/console:/dev/other:m -- $bb sh -c "
    echo BOX-DEVICE-GIVEN > /dev/kmsg && echo WROTE
    echo BOX-LEAK-CONSOLE > /dev/other && echo WROTE-CONSOLE
    $bb ls -l /dev/kmsg /dev/other
    echo done" 2>&1)
echo "--device: $out"
echo "$out" | grep -q "^done" || fail "the container did not run"
echo "$out" | grep -q "^WROTE$" || fail "the device given (w) could not be written"
leaked BOX-DEVICE-GIVEN || fail "the line written to the device given is not in dmesg"
echo "$out" | grep -q WROTE-CONSOLE && fail "the console was opened through a node given m only"
echo "$out" | grep -q "can't create /dev/other: Operation not permitted" || fail "the console was not refused by the device program"

# 4. box exec into a running container is held to the same rules: it
#    joins the container's group, whose program refuses the console.
box run -d --name devices-exec --rootfs "$root" --bind $bb:$bb:ro --cap-add mknod \
    --device /dev/console:/dev/other:m -- $bb sh -c "while :; do $bb sleep 1; done" || fail "box run -d failed"
out=$(box exec devices-exec $bb sh -c "
    $bb mknod /dev/k c 1 11 && echo MADE
    echo BOX-LEAK-EXEC > /dev/k
    echo BOX-LEAK-EXEC > /dev/other && echo WROTE-CONSOLE
    echo done" 2>&1)
echo "box exec: $out"
box stop --time 0 devices-exec >/dev/null 2>&1
echo "$out" | grep -q "^done" || fail "box exec did not run"
echo "$out" | grep -qx MADE && fail "box exec made a node of 1:11"
echo "$out" | grep -q WROTE-CONSOLE && fail "box exec opened the console"
leaked BOX-LEAK-EXEC && fail "box exec wrote to /dev/kmsg"

# 5. A spec file's device key, started by box-init (56-device.box).
wait_log "BOX-DEVICE-SPEC wrote" 30 || exit 1
leaked BOX-DEVICE-SPEC-LEAK && fail "the spec's container made a node of a device given without m"
for name in devices devices-exec; do no_cgroup_left "$name" || exit 1; done
left=$(ls /sys/fs/cgroup/box 2>/dev/null | grep -c '^box-')
[ "$left" -eq 0 ] || fail "$left container cgroups left under box/"
