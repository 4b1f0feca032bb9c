#!/bin/sh
# boot-disk: test
# boot-append: box.switch_root=/dev/vda
# boot-ends: shutdown
# boot-console: box-init: shutting down: power off
# boot-console: SIGKILL
# boot-append: box.switch_root=/dev/vda
# boot-ends: shutdown
# boot-console: box-init: shutting down: reboot
# boot-append: box.switch_root=/dev/vda
# boot-ends: shutdown
# boot-console: box-init: shutting down: reboot
# boot-append: box.switch_root=/dev/vda
#
# A shutdown keeps what was written. On the disk root, a container appends
# records to a bind-mounted directory, fsyncing one file and not the other,
# and a shutdown comes while it writes:
#   boot 1: `box poweroff` on the board (the writer ignores SIGTERM: SIGKILL);
#   boot 2: `box reboot` through `box exec` in a container that shares the
#           board's PID namespace (the grant), refused in one that does not;
#   boot 3: `box reboot` from /etc/box/rc while rc still runs (the .rc part).
# After each boot xtask checks the disk with e2fsck -fn; the last boot checks
# that every record each round reported (fsynced, or only written) is on
# the disk, whole and in order.
. /tests/cases/91-shutdown-keeps-data.rc

case $(cmdline_value box.test.boot) in
1)
    writer 1 || fail_now "round 1: no writer"
    wait_records 1 30
    box poweroff || fail_now "round 1: box poweroff failed"
    sleep 60
    fail_now "round 1: box poweroff did not power off"
    ;;
2)
    writer 2 --ns mount,uts,ipc --bind /bin/box:/bin/box:ro || fail_now "round 2: no writer"
    root=$(container_root 91-plain)
    box run --name 91-plain --init --rootfs "$root" --bind /bin/box:/bin/box:ro \
        --bind /bin/busybox:/bin/busybox:ro -- /bin/busybox sleep 600 </dev/null >/dev/null 2>&1 &
    wait_records 2 30
    # In its own PID namespace a container's `box reboot` is refused: its
    # PID 1 is its own init, which the signal would stop instead.
    out=$(box exec 91-plain -- /bin/box reboot 2>&1)
    status=$?
    [ "$status" -eq 125 ] || fail_now "round 2: box reboot in a container without the FIFO: status $status: $out"
    echo "$out" | grep -q 'this is a container' || fail_now "round 2: no clear refusal: $out"
    sleep 1
    box ps | grep -q '^91-plain .*running' || fail_now "round 2: the refused reboot stopped 91-plain: $(box ps)"
    box exec 91-writer2 -- /bin/box reboot || fail_now "round 2: box reboot from the board's PID namespace failed"
    sleep 60
    fail_now "round 2: box reboot from the container did not reboot"
    ;;
4) ;;
*) fail_now "unexpected boot $(cmdline_value box.test.boot)" ;;
esac

# check ROUND WHAT: the file of round ROUND has every record it reported.
check() {
    file=$data/$2$1
    reported=$(cmdline_value "box.test.$2$1")
    [ -n "$reported" ] || { echo "round $1: no keep: $2$1= line reached this boot"; return 1; }
    awk -v want="$reported" -v file="$file" '
        $0 != "record " NR { printf "%s: line %d is \"%s\", not record %d\n", file, NR, $0, NR; bad = 1; exit }
        END {
            if (bad) exit 1
            if (NR < want) { printf "%s: %d records, %d were reported\n", file, NR, want; exit 1 }
            printf "report: round %s: %d %s records reported, %d on disk\n", r, want, what, NR
        }' r="$1" what="$2" "$file" || return 1
}
for round in 1 2 3; do
    check $round synced || exit 1
    check $round written || exit 1
done
