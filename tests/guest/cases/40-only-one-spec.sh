#!/bin/sh
# boot-append: box.spec=30-exitcode
# With box.spec=NAME on the kernel command line, box-init starts only
# /etc/box/NAME.box: here 30-exitcode runs and the demo specs do not.
# (The kernel logs its command line: those lines are left out.)
spec_log() {
    dmesg | grep -v 'box\.spec=' | grep -e exitcode -e 10-hello -e 20-limits
}
for second in $(seq 30); do
    spec_log | grep -q exitcode && break
    sleep 1
done
log=$(spec_log)
echo "$log"
echo "$log" | grep -q exitcode || { echo "30-exitcode did not run with box.spec=30-exitcode"; exit 1; }
if echo "$log" | grep -q -e 10-hello -e 20-limits; then
    echo "box.spec=30-exitcode also started other specs"
    exit 1
fi
