#!/bin/sh
# What memory and pids limits add to a box run on cgroup v2, where the
# container is placed with CLONE_INTO_CGROUP: 4 alternating blocks of 10
# runs each way, timed with /proc/uptime. Reported, not checked: under TCG
# the kernel's cgroup work and box's own code slow down by different
# factors. `cargo xtask bench` measures the same natively (cgroup v1 on a
# hybrid host).
. /tests/lib.sh
root=$(container_root limits-cost) || exit 1

now() { cut -d' ' -f1 /proc/uptime | tr -d .; }   # centiseconds

block() {
    start=$(now)
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        box run --rootfs "$root" --bind /bin/busybox:/bin/busybox:ro "$@" \
            -- /bin/busybox true || return 1
    done
    echo $(($(now) - start))
}

plain=0
limited=0
for _ in 1 2 3 4; do
    t=$(block) || { echo "box run failed"; exit 1; }
    plain=$((plain + t))
    t=$(block --memory 64M --pids 64) || { echo "box run with limits failed"; exit 1; }
    limited=$((limited + t))
done
left=$(ls /sys/fs/cgroup/box 2>/dev/null | grep -c '^box-')
[ "$left" -eq 0 ] || { echo "$left container cgroups left under box/"; exit 1; }
echo "report: 40 runs: $((plain * 10)) ms without limits, $((limited * 10)) ms with --memory 64M --pids 64 (guest time, TCG)"
if [ "$plain" -gt 0 ]; then
    echo "report: with limits / without: $((limited * 100 / plain))/100"
fi
