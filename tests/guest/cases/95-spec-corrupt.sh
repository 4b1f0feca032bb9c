#!/bin/sh
# boot-disk: test
# boot-append: box.switch_root=/dev/vda
# boot-console: box-init: switching to the root at /newroot: /sbin/init
# boot-append: root=/dev/vda rootfstype=ext4 ro rootwait init=/bin/box-init
# boot-console: box-init: switching to the root at /newroot: /bin/box-init
#
# A boot fault on the real root: /etc/box/95-corrupt.box on the disk is
# damaged (a line of binary garbage). box-init names it once, with its line,
# skips it and starts the other specs. (Same boots as 90-switch-root.)
. /tests/lib.sh
wait_log '95-corrupt.box' || exit 1
lines=$(log | grep -c '95-corrupt.box')
[ "$lines" -eq 1 ] || { echo "95-corrupt.box named $lines times, not once"; log | grep 95-corrupt; exit 1; }
line=$(log | grep '95-corrupt.box')
echo "$line"
echo "$line" | grep -q '/etc/box/95-corrupt.box:4' || { echo "the line does not name FILE:LINE (line 4)"; exit 1; }
if log | grep -q '95-corrupt: started'; then
    echo "the damaged spec was started"
    exit 1
fi
wait_log '90-on-disk: started' || exit 1
