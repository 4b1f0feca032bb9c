#!/bin/sh
# Where the boot's time goes, from the kernel's start to the first
# container's command running. Reported here, not checked: under QEMU's TCG
# emulation every instruction is many times slower than on hardware.
# `cargo xtask bench` measures box-init's part natively.
#
# box-init's log lines end in "(+X ms)", CLOCK_MONOTONIC since it started:
# "starting", "loaded N kernel modules in M ms", "watchdog: …", "read N
# specs", "runs from …" (box's own file, or a sealed copy it re-executed
# from for a spec Landlock cannot confine: src/board/services.rs), and
# "NAME: started, pid …" once a container's command runs. A re-executed
# box-init counts from its re-exec: the phases are taken from the
# kernel's timestamps of these lines (dmesg), which also give the kernel's
# share (it logs "Run /init as init process" as it executes box-init).
. /tests/lib.sh
wait_log "started, pid" || exit 1
first=$(log | grep "started, pid" | head -n 1)
echo "first container: $first"

# The "+X ms" of the first box-init line matching $1 (empty if none).
plus() {
    log | grep -e "box-init: .*$1" | head -n 1 | sed -n 's/.*(+\([0-9.]*\) ms)$/\1/p'
}
# The kernel's timestamp, in ms, of the first log line matching $1.
stamp() {
    dmesg | grep -e "$1" | head -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p' |
        awk '{ printf "%.1f", $1 * 1000 }'
}
starting=$(plus "starting (box")
[ -n "$starting" ] || { echo "no +X ms on box-init's starting line"; exit 1; }
modules=$(log | sed -n 's/.*box-init: loaded \([0-9]*\) kernel modules in \([0-9]*\) ms.*/\1 \2/p' | head -n 1)
nspecs=$(log | sed -n 's/.*box-init: read \([0-9]*\) specs.*/\1/p' | head -n 1)
runs=$(log | grep "box-init: runs from" | head -n 1)
echo "$runs"
# The kernel's share: until it executes /init (absent from old kernels' logs).
init=$(stamp "Run .* as init process")
begun=$(awk -v s="$(stamp 'box-init: starting (box')" -v x="$starting" 'BEGIN { printf "%.1f", s - x }')
loaded=$(stamp "box-init: loaded .* kernel modules in")
dog=$(stamp "box-init: watchdog: timeout")
specs=$(stamp "box-init: read [0-9]* specs")
[ -n "$specs" ] || { echo "no 'read N specs' line"; exit 1; }
sealed=$(stamp "box-init: runs from")
[ -n "$sealed" ] || { echo "no 'runs from' line"; exit 1; }
started=$(stamp "started, pid")
# /etc/box/rc, when the image has one (the test image does, the demo not).
rc_run=$(stamp "box-init: running /etc/box/rc")
rc_end=$(stamp "box-init: /etc/box/rc exited")
case "$runs" in *"sealed copy"*) copy=1 ;; *) copy=0 ;; esac

# What a sealed copy of this box costs, made as box-init's first run makes
# it: a box run from a file of its own (not box-init's, so no copy to
# share), in a container Landlock does not confine, so it copies.
root=/srv/boot-cost
mkdir -p $root/bin $root/dev $root/proc $root/sys $root/tmp /srv/boot-cost-box || exit 1
cp /bin/box /srv/boot-cost-box/box || exit 1
timing=$(/srv/boot-cost-box/box run --debug-timing --cap-add sys_admin --rootfs $root \
    --bind /bin/busybox:/bin/busybox:ro -- /bin/busybox true 2>&1 | grep "timing: seal")
rm -rf /srv/boot-cost-box
echo "sealed copy by box run: $timing"
copy_us=$(echo "$timing" | sed -n 's/.*copy \([0-9]*\) .*/\1/p')
size=$(wc -c </bin/box)

awk -v init="$init" -v begun="$begun" -v starting="$starting" \
    -v modules="$modules" -v loaded="$loaded" -v dog="$dog" -v specs="$specs" \
    -v nspecs="$nspecs" -v sealed="$sealed" -v copy="$copy" -v started="$started" \
    -v rc_run="$rc_run" -v rc_end="$rc_end" -v copy_us="$copy_us" -v size="$size" 'BEGIN {
    split(modules, m, " ")
    if (init != "")
        printf "report: boot: kernel until it executes box-init: %.1f ms of guest time (TCG)\n", init
    printf "report: boot: box-init to the first command: %.1f ms (%s)\n", started - begun, copy ? "re-executed from a sealed copy" : "no sealed copy"
    if (copy_us != "")
        printf "report: boot: a sealed copy of /bin/box (%d bytes) by box run: %.1f ms\n", size, copy_us / 1000
    printf "report: boot: mounts, console, log: %.1f ms\n", starting
    at = begun + starting
    if (loaded != "") {
        printf "report: boot: command line: %.1f ms; %d kernel modules: %.1f ms\n", loaded - m[2] - at, m[1], m[2]
        at = loaded
    }
    if (dog != "") {
        printf "report: boot: watchdog: %.1f ms\n", dog - at
        at = dog
    }
    rc = 0
    if (rc_run != "" && rc_end != "") {
        rc = rc_end - rc_run
        printf "report: boot: /etc/box/rc (the test image'"'"'s): %.1f ms\n", rc
    }
    printf "report: boot: reading %d specs%s: %.1f ms\n", nspecs, rc ? " (and mounting cgroup2 for rc)" : "", specs - at - rc
    printf "report: boot: %s: %.1f ms\n", copy ? "the sealed copy and the re-exec" : "no sealed copy (Landlock)", sealed - specs
    printf "report: boot: starting the first container (plan, clone ... exec): %.1f ms\n", started - sealed
}'
