#!/bin/sh
# `box run` of a container whose rootfs is a directory of the initramfs
# (pivot_root cannot leave an initramfs: box must cope). Inside, the command
# is PID 1, the hostname is the container's own, and only the rootfs is
# visible. busybox is bound in read-only; the rootfs holds nothing else.
root=/srv/t
mkdir -p $root/bin $root/dev $root/proc $root/sys $root/tmp || exit 1
echo guest > /etc/guest-only
before=$(hostname)

out=$(box run --rootfs $root --hostname inside --bind /bin/busybox:/bin/busybox:ro -- \
    /bin/busybox sh -c '
        echo "pid $$"
        echo "hostname $(/bin/busybox hostname)"
        for path in /etc/guest-only /tests /srv; do
            [ -e "$path" ] && echo "visible: $path"
        done
        echo "root $(/bin/busybox ls / | /bin/busybox tr "\n" " ")"
        exit 7' 2>&1)
status=$?
echo "$out"

[ "$status" -eq 7 ] || { echo "box run exited $status, not the command's 7"; exit 1; }
echo "$out" | grep -qx "pid 1" || { echo "the command is not PID 1 inside"; exit 1; }
echo "$out" | grep -qx "hostname inside" || { echo "the hostname inside is not the container's"; exit 1; }
[ "$(hostname)" = "$before" ] || { echo "the guest's hostname changed to $(hostname)"; exit 1; }
if echo "$out" | grep -q "^visible: "; then
    echo "the container sees the guest's $(echo "$out" | grep "^visible: " | cut -d' ' -f2 | tr '\n' ' ')"
    exit 1
fi
echo "$out" | grep -q "^root .*bin" || { echo "the container's / is not its rootfs"; exit 1; }
