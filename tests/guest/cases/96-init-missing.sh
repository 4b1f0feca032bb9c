#!/bin/sh
# boot-disk: test
# boot-append: root=/dev/vda box.init=/sbin/nope box.shell=1 ENV=/tests/shell-env
# boot-console: box-init: root=/dev/vda: no init /sbin/nope: No such file or directory
# boot-console: box-init: boot fault: starting /bin/sh on the console (box.shell=1)
#
# A boot fault: the real root has no such init. One line says so; nothing of
# the initramfs was deleted (the check comes before the switch), and the
# rescue shell finds the root mounted at /newroot to look into. The disk is
# unmounted cleanly at the power off (xtask's e2fsck).
. /tests/lib.sh
lines=$(log | grep -c 'box-init: root=/dev/vda: no init /sbin/nope')
[ "$lines" -eq 1 ] || { echo "the fault has $lines lines, not one"; exit 1; }
mount_of /newroot | grep -q '^ext4 /dev/vda ' || { echo "the root is not at /newroot: $(mount_of /newroot)"; exit 1; }
[ -x /newroot/sbin/init ] || { echo "no /sbin/init on the disk"; exit 1; }
[ -x /bin/busybox ] && [ -e /init ] || { echo "the initramfs lost files"; exit 1; }
