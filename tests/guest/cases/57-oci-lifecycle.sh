#!/bin/sh
# box-oci on cgroup v2, as an engine drives it: create leaves the init
# waiting (created) and exits, start runs the process under the config's
# memory and pids limits and its seccomp profile, exec joins it, kill and
# delete end it, and nothing is left: no cgroup, no state. Then a container
# without limits at a cgroupsPath: its group there (parents made), paused
# and resumed through it, removed by delete (its made parent left empty).
. /tests/lib.sh
root=$(container_root oci) || exit 1
bundle=/srv/oci-bundle
mkdir -p $bundle
cat >$bundle/config.json <<JSON
{
  "ociVersion": "1.2.0",
  "process": {
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/busybox", "sh", "-c", "grep Seccomp: /proc/self/status; /bin/busybox mkdir /tmp/refused || echo mkdir refused; echo started; exec /bin/busybox sleep 100"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
  },
  "root": {"path": "$root"},
  "hostname": "oci",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/bin/busybox", "type": "bind", "source": "/bin/busybox", "options": ["bind", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
    "resources": {"memory": {"limit": 33554432}, "pids": {"limit": 16}},
    "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
  }
}
JSON
box oci create --bundle $bundle --pid-file $bundle/pid oci57 >$bundle/out 2>&1 \
    || { cat $bundle/out; echo "create failed"; exit 1; }
box oci state oci57 | grep -q '"status":"created"' || { box oci state oci57; echo "not created"; exit 1; }
group=/sys/fs/cgroup/box/oci57
[ "$(cat $group/memory.max)" = 33554432 ] || { echo "memory.max: $(cat $group/memory.max)"; exit 1; }
[ "$(cat $group/pids.max)" = 16 ] || { echo "pids.max: $(cat $group/pids.max)"; exit 1; }
grep -q started $bundle/out && { echo "ran before start"; exit 1; }
box oci start oci57 || { echo "start failed"; exit 1; }
for _ in $(seq 50); do
    grep -q started $bundle/out && break
    sleep 0.1
done
cat $bundle/out
grep -q "Seccomp:.2" $bundle/out || { echo "no seccomp filter"; exit 1; }
grep -q "mkdir refused" $bundle/out || { echo "the profile's mkdir rule not in force"; exit 1; }
box oci state oci57 | grep -q '"status":"running"' || { box oci state oci57; echo "not running"; exit 1; }
box oci pause oci57 || { echo "pause failed"; exit 1; }
box oci state oci57 | grep -q '"status":"paused"' || { box oci state oci57; echo "not paused"; exit 1; }
grep -q "frozen 1" $group/cgroup.events || { cat $group/cgroup.events; echo "not frozen"; exit 1; }
box oci resume oci57 || { echo "resume failed"; exit 1; }
box oci state oci57 | grep -q '"status":"running"' || { box oci state oci57; echo "not resumed"; exit 1; }
# exec: in the container's group, under its profile, its status back.
box oci exec oci57 /bin/busybox sh -c 'grep Seccomp: /proc/self/status; /bin/busybox mkdir /tmp/x || echo exec mkdir refused; exit 7' >$bundle/exec 2>&1
status=$?
cat $bundle/exec
[ $status = 7 ] || { echo "exec exited $status, not 7"; exit 1; }
grep -q "Seccomp:.2" $bundle/exec || { echo "exec: no seccomp filter"; exit 1; }
grep -q "exec mkdir refused" $bundle/exec || { echo "exec: the profile's mkdir rule not in force"; exit 1; }
box oci exec --detach --pid-file $bundle/exec.pid oci57 /bin/busybox sleep 100 \
    || { echo "exec --detach failed"; exit 1; }
grep -qx "$(cat $bundle/exec.pid)" $group/cgroup.procs || { cat $group/cgroup.procs; echo "exec'd process not in the group"; exit 1; }
box oci kill oci57 KILL || { echo "kill failed"; exit 1; }
for _ in $(seq 50); do
    box oci state oci57 | grep -q '"status":"stopped"' && break
    sleep 0.1
done
box oci state oci57 | grep -q '"status":"stopped"' || { box oci state oci57; echo "not stopped"; exit 1; }
box oci delete oci57 || { echo "delete failed"; exit 1; }
box oci state oci57 2>&1 | grep -q "does not exist" || { echo "state after delete"; exit 1; }
[ -e /run/box-oci/oci57 ] && { echo "/run/box-oci/oci57 left"; exit 1; }
no_cgroup_left oci57

# cgroupsPath, no limits: a group all the same, at the path from the root.
sed -e 's|"resources": {"memory": {"limit": 33554432}, "pids": {"limit": 16}},|"cgroupsPath": "/oci57test/c1",|' \
    $bundle/config.json >$bundle/config.new && mv $bundle/config.new $bundle/config.json
grep -q '"cgroupsPath": "/oci57test/c1"' $bundle/config.json || { echo "config not edited"; exit 1; }
box oci create --bundle $bundle --pid-file $bundle/pid oci57b >$bundle/out 2>&1 \
    || { cat $bundle/out; echo "create (cgroupsPath) failed"; exit 1; }
group=/sys/fs/cgroup/oci57test/c1
grep -qx "$(cat $bundle/pid)" $group/cgroup.procs || { cat /proc/$(cat $bundle/pid)/cgroup; echo "init not in $group"; exit 1; }
[ -e /sys/fs/cgroup/box/oci57b ] && { echo "box/oci57b made beside the cgroupsPath"; exit 1; }
box oci start oci57b || { echo "start (cgroupsPath) failed"; exit 1; }
box oci pause oci57b || { echo "pause without limits failed"; exit 1; }
box oci state oci57b | grep -q '"status":"paused"' || { box oci state oci57b; echo "not paused"; exit 1; }
grep -q "frozen 1" $group/cgroup.events || { cat $group/cgroup.events; echo "not frozen"; exit 1; }
box oci resume oci57b || { echo "resume without limits failed"; exit 1; }
box oci state oci57b | grep -q '"status":"running"' || { box oci state oci57b; echo "not resumed"; exit 1; }
box oci ps oci57b | grep -qx "$(cat $bundle/pid)" || { box oci ps oci57b; echo "ps: init not listed"; exit 1; }
box oci delete --force oci57b || { echo "delete --force (cgroupsPath) failed"; exit 1; }
[ -e $group ] && { echo "$group left"; exit 1; }
rmdir /sys/fs/cgroup/oci57test || { ls /sys/fs/cgroup/oci57test; echo "parent not empty"; exit 1; }
[ -e /run/box-oci/oci57b ] && { echo "/run/box-oci/oci57b left"; exit 1; }
echo "cgroupsPath ok"
