#!/bin/sh
# boot-append: box.test.many=1
# box-init runs up to 64 specs, from a table in static memory: in a boot of
# its own, rc writes 40 more specs (64-many-specs.rc) beside the image's,
# and every one of them starts; none is skipped. Reported: box-init's
# resident memory with them all loaded.
. /tests/lib.sh
wait_log "many-40: started, pid" 60 || exit 1
started=$(log | grep -c 'many-[0-9]*: started, pid')
specs=$(ls /etc/box/*.box | wc -l)
echo "specs in /etc/box: $specs; many-NN started: $started"
[ "$started" -eq 40 ] || { echo "$started of the 40 many-NN specs started"; exit 1; }
if log | grep -q 'skipped: box-init runs at most'; then
    log | grep 'skipped: box-init runs at most'
    echo "box-init skipped specs with $specs in /etc/box"
    exit 1
fi
echo "report: box-init with $specs specs loaded: $(grep VmRSS /proc/1/status | tr -s ' \t' ' ')"
