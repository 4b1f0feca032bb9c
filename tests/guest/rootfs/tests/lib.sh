# Shared by the guest cases: `. /tests/lib.sh`.

# A fresh container rootfs with busybox bound in: prints its path.
# Usage: root=$(container_root NAME)
container_root() {
    dir=/srv/case-$1
    mkdir -p "$dir/bin" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/tmp" || return 1
    echo "$dir"
}

# box run with a fresh rootfs NAME and busybox: run_in NAME [BOX OPTIONS] -- CMD…
run_in() {
    name=$1
    shift
    root=$(container_root "$name") || return 125
    box run --rootfs "$root" --bind /bin/busybox:/bin/busybox:ro "$@"
}

# dmesg without timestamps and without the kernel's command line.
log() {
    dmesg | grep -v 'Kernel command line' | sed 's/^\[[^]]*\] *//'
}

# Wait up to $2 seconds (default 30) for a box-init log line matching $1.
wait_log() {
    for _ in $(seq "${2:-30}"); do
        log | grep -q -e "$1" && return 0
        sleep 1
    done
    echo "no log line matching '$1' after ${2:-30} s"
    return 1
}

# No cgroup of container NAME under box/.
no_cgroup_left() {
    if [ -e "/sys/fs/cgroup/box/$1" ]; then
        echo "/sys/fs/cgroup/box/$1 was left behind"
        return 1
    fi
}

# The value of kernel command line parameter $1 (e.g. box.test.boot).
cmdline_value() {
    tr ' ' '\n' </proc/cmdline | sed -n "s/^$(echo "$1" | sed 's/\./\\./g')=//p" | tail -n 1
}

# The mount at $1 in PID 1's mountinfo: "FSTYPE SOURCE OPTIONS".
mount_of() {
    awk -v at="$1" '$5 == at { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1), $(i + 2), $6; exit } }' \
        /proc/1/mountinfo
}

# In a boot that ends in a shutdown the runner never reports: fail on the
# console at once (xtask reads it there), then as usual.
fail_now() {
    echo "BOX-TEST $(basename "$0" .sh) FAIL $*" >/dev/console
    echo "$*"
    exit 1
}
