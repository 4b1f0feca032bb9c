#!/bin/sh
# boot-append: root=/dev/vdz box.rootwait=1 box.panic_delay=1
# boot-ends: shutdown
# boot-console: box-init: root=/dev/vdz: no such device (its driver
# boot-console: box-init: boot fault: rebooting in 1 s
# boot-append: root=/dev/vdz box.rootwait=1 box.shell=1 ENV=/tests/shell-env
# boot-console: box-init: boot fault: starting /bin/sh on the console (box.shell=1)
#
# A boot fault: the root device never comes. One line names it, then the
# board reboots after box.panic_delay (first boot: the kernel restarts, no
# panic), or with box.shell=1 box-init starts the rescue shell on the
# initramfs, from which this runs (second boot: the shell reads
# ENV=/tests/shell-env, which starts the runner).
. /tests/lib.sh
lines=$(log | grep -c 'box-init: root=/dev/vdz')
[ "$lines" -eq 1 ] || { echo "the fault has $lines lines, not one"; log | grep 'box-init: root='; exit 1; }
fs=$(stat -f -c %T /)
case "$fs" in ramfs | tmpfs) ;; *) echo "the rescue shell is not on the initramfs (/ is $fs)"; exit 1 ;; esac
if log | grep -q 'running /etc/box/rc'; then
    echo "box-init went on to rc after the fault"
    exit 1
fi
