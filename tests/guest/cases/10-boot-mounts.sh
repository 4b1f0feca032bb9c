#!/bin/sh
# box-init, as PID 1, mounted the kernel filesystems: proc, sysfs, devtmpfs,
# a tmpfs on /run and cgroup2, as its own mountinfo shows.
# mountinfo (proc(5)): field 5 is the mount point; the word after "-" the type.
mounts=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $5, $(i + 1); break } }' \
    /proc/1/mountinfo) || { echo "cannot read /proc/1/mountinfo"; exit 1; }
echo "$mounts"
for want in "/proc proc" "/sys sysfs" "/dev devtmpfs" "/run tmpfs" "/sys/fs/cgroup cgroup2"; do
    if ! echo "$mounts" | grep -qx "$want"; then
        echo "PID 1 has no ${want#* } on ${want% *}"
        exit 1
    fi
done
