#!/bin/sh
# How long box-init takes from its first instruction to the first
# container's command running: box-init logs "+X ms" (CLOCK_MONOTONIC since
# it started) when a container's exec has succeeded. Reported here, not
# checked: under QEMU's TCG emulation every instruction is many times slower
# than on hardware. `cargo xtask bench` measures the same span natively.
# Loading the board's kernel modules comes first (box-init loads them
# before anything else): reported apart, it is the kernel's work.
. /tests/lib.sh
wait_log "started, pid" || exit 1
first=$(log | grep "started, pid" | head -n 1)
echo "first container: $first"
ms=$(echo "$first" | sed -n 's/.*(+\([0-9]*\)\.[0-9] ms).*/\1/p')
[ -n "$ms" ] || { echo "no +X ms in '$first'"; exit 1; }
modules=$(log | sed -n 's/.*box-init: loaded \([0-9]*\) kernel modules in \([0-9]*\) ms.*/\1 \2/p' | head -n 1)
if [ -n "$modules" ]; then
    echo "report: box-init to the first command: $ms ms of guest time (TCG), ${modules#* } ms of it loading ${modules% *} kernel modules"
else
    echo "report: box-init to the first command: $ms ms of guest time (TCG)"
fi
