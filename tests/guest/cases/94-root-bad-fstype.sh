#!/bin/sh
# boot-disk: test
# boot-append: root=/dev/vda rootfstype=vfat box.shell=1 ENV=/tests/shell-env
# boot-console: box-init: root=/dev/vda: mount as vfat: No such device
# boot-console: box-init: boot fault: starting /bin/sh on the console (box.shell=1)
#
# A boot fault: the root is not of the filesystem rootfstype= names. One
# line says so (the mount's error), then the rescue shell on the initramfs.
. /tests/lib.sh
log | grep 'box-init: root=/dev/vda: mount as vfat'
lines=$(log | grep -c 'box-init: root=/dev/vda: mount')
[ "$lines" -eq 1 ] || { echo "the fault has $lines lines, not one"; exit 1; }
[ -b /dev/vda ] || { echo "no /dev/vda: the disk was not there"; exit 1; }
case "$(stat -f -c %T /)" in ramfs | tmpfs) ;; *) echo "the rescue shell is not on the initramfs"; exit 1 ;; esac
