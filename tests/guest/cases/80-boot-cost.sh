#!/bin/sh
# How long box-init takes from its first instruction to the first
# container's command running: box-init logs "+X ms" (CLOCK_MONOTONIC since
# it started) when a container's exec has succeeded. Reported here, not
# checked: under QEMU's TCG emulation every instruction is many times slower
# than on hardware. `cargo xtask bench` measures the same span natively.
. /tests/lib.sh
wait_log "started, pid" || exit 1
first=$(log | grep "started, pid" | head -n 1)
echo "first container: $first"
ms=$(echo "$first" | sed -n 's/.*(+\([0-9]*\)\.[0-9] ms).*/\1/p')
[ -n "$ms" ] || { echo "no +X ms in '$first'"; exit 1; }
echo "report: box-init to the first command: $ms ms of guest time (TCG)"
