#!/bin/sh
# Bad specs are logged with FILE:LINE (or FILE) and skipped, as is one with
# tty (box-init has no terminal to relay); the others run.
# box run --file on one exits 125.
. /tests/lib.sh
wait_log "74-after-bad: started" || exit 1
fail=0
for want in \
    "/etc/box/70-bad-key.box:2: unknown key 'colour'" \
    "/etc/box/71-too-long.box:2: hostname" \
    "/etc/box/72-no-cmd.box: no cmd" \
    "73-no-rootfs: failed to start: check --rootfs: stat(/srv/no-such-directory)" \
    "/etc/box/75-tty.box: skipped: tty: box-init has no terminal to relay"; do
    if log | grep -qF "$want"; then
        echo "logged: $want"
    else
        echo "not logged: $want"
        fail=1
    fi
done
box run --file /etc/box/70-bad-key.box 2>/dev/null
status=$?
[ "$status" -eq 125 ] || { echo "box run --file of a bad spec exited $status, not 125"; fail=1; }
exit $fail
