#!/bin/sh
# boot-append: box.watchdog=3
# boot-console: box-init: watchdog: timeout 3 s, fed
# boot-append: box.watchdog=3 box.watchdog.test-stop=1
# boot-ends: watchdog
# boot-console: NOT fed (box.watchdog.test-stop=1)
#
# The hardware watchdog (QEMU's i6300esb, which powers the guest off when it
# fires). In the first boot box-init feeds it from its wait loop and the
# guest outlives several of its 3-second periods. In the second box-init
# stops feeding it (a test switch): QEMU's action must end the boot before
# this case can report, which xtask expects.
. /tests/lib.sh
if [ "$(cmdline_value box.test.boot)" = 2 ]; then
    sleep 30
    echo "the watchdog did not fire in 30 s"
    exit 1
fi
ls -l /proc/1/fd | grep -q /dev/watchdog || { echo "PID 1 has no /dev/watchdog open"; exit 1; }
sleep 10
echo "report: the guest outlived 3 periods of its 3 s watchdog"
