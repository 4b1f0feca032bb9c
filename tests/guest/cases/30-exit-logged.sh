#!/bin/sh
# box-init logs a container's exit status to /dev/kmsg: the container of
# /etc/box/30-exitcode.box exits with 42, and dmesg shows a line naming it
# with that status (checked loosely: "exitcode", then 42 as a number).
for second in $(seq 30); do
    # Without the [timestamp], whose digits could look like a status.
    line=$(dmesg | grep -v "box\.spec=" | sed 's/^\[[^]]*\] *//' | grep exitcode | grep -E '(^|[^0-9])42([^0-9]|$)')
    if [ -n "$line" ]; then
        echo "$line"
        exit 0
    fi
    sleep 1
done
dmesg | grep -i -e box -e exitcode | tail -n 20
echo "no line naming 30-exitcode and its status 42 in dmesg after 30 s"
exit 1
