#!/bin/sh
# box's applets and options whose kernel interface differs between
# architectures (struct layouts, 64-bit values in 32-bit registers, ioctls),
# checked as a user would: unshare (clone, a new /proc), nsenter (setns
# through a pidfd), box ns (namespace inodes), box mounts (mountinfo),
# --map-root (a user namespace and its id maps), --net (the loopback
# ioctls), --rlimit (prlimit64), --read-only (mount_setattr), --tmpfs sizes.
. /tests/lib.sh

# The shell's own glob, so that no other process is counted.
out=$(unshare -fp --mount-proc /bin/busybox sh -c 'echo $$ /proc/[0-9]*' 2>&1)
echo "unshare: $out"
[ "$out" = "1 /proc/1" ] || { echo "unshare -fp --mount-proc: not PID 1 alone in a new /proc"; exit 1; }

root=$(container_root toolkit) || exit 1
box run -d --name toolkit --rootfs "$root" --hostname tk \
    --bind /bin/busybox:/bin/busybox:ro -- /bin/busybox sleep 60 >/dev/null || exit 1
pid=$(box ps | grep '^toolkit ' | awk '{print $2}')
out=$(nsenter -t "$pid" -u -p -m -- /bin/busybox sh -c 'echo $(/bin/busybox hostname) $(/bin/busybox cut -d" " -f1 /proc/1/stat)' 2>&1)
echo "nsenter: $out"
[ "$out" = "tk 1" ] || { echo "nsenter -t $pid did not enter the container"; exit 1; }
ns=$(box ns "$pid")
echo "$ns" | grep -q '^uts .* isolated$' || { echo "box ns: the uts namespace is not the container's"; echo "$ns"; exit 1; }
echo "$ns" | grep -q '^net .* shared$' || { echo "box ns: the net namespace is not the guest's"; echo "$ns"; exit 1; }
box mounts "$pid" | grep -q '^/proc .* private' || { echo "box mounts $pid: no private /proc"; exit 1; }
box rm -f toolkit >/dev/null || exit 1

out=$(run_in maproot --map-root -- /bin/busybox sh -c '/bin/busybox id -u; /bin/busybox cat /proc/self/uid_map' 2>&1)
echo "--map-root: $(echo $out)"
[ "$(echo $out)" = "0 0 0 1" ] || { echo "--map-root: not uid 0 mapped to the caller"; exit 1; }

out=$(run_in net --net -- /bin/busybox cat /sys/class/net/lo/flags 2>&1)
echo "--net: lo flags $out"
[ $((out & 1)) -eq 1 ] || { echo "--net: lo is not up"; exit 1; }

out=$(run_in rlimit --rlimit nofile=64:128 -- /bin/busybox grep 'open files' /proc/self/limits 2>&1)
echo "--rlimit: $out"
echo "$out" | grep -q 'open files  *64  *128 ' || { echo "--rlimit nofile=64:128 not applied"; exit 1; }

# A read-only rootfs lacking its mount points: box makes them (the bind's
# empty file, the tmpfs's directory) before it makes the root read-only.
root=$(container_root ro) && rmdir "$root/tmp" || exit 1
out=$(box run --rootfs "$root" --bind /bin/busybox:/bin/busybox:ro --read-only --tmpfs /tmp:size=1M -- /bin/busybox sh -c \
    '/bin/busybox touch /new 2>/dev/null && echo wrote /new; /bin/busybox touch /tmp/new && echo wrote /tmp/new; /bin/busybox grep " /tmp " /proc/mounts' 2>&1)
echo "--read-only --tmpfs: $out"
echo "$out" | grep -q "wrote /new" && { echo "--read-only: the rootfs is writable"; exit 1; }
echo "$out" | grep -q "wrote /tmp/new" || { echo "--tmpfs: /tmp is not writable"; exit 1; }
echo "$out" | grep -q " /tmp tmpfs .*size=1024k" || { echo "--tmpfs /tmp:size=1M: not a 1 MiB tmpfs"; exit 1; }
