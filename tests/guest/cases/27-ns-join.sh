#!/bin/sh
# box run --ns TYPE=PATH on the board (cgroup v2, clone3 into the
# container's group): a second container joins the network, UTS and PID
# namespaces of a first one through /proc/PID/ns, as a pod's containers
# share a sandbox's. It sees the first one's hostname, its loopback as the
# first one set it up (up: the first has --net), and its processes; its
# own command is not PID 1 there. Then a user namespace is joined. A path of the wrong type is refused
# before anything is made, and nothing is left behind.
. /tests/lib.sh
root=$(container_root nsjoin) || exit 1
out=$(box run -d --name pod --rootfs "$root" --hostname pod --net --memory 32M \
    --bind /bin/busybox:/bin/busybox:ro -- /bin/busybox sleep 1000 2>&1)
[ "$out" = pod ] || { echo "box run -d printed '$out'"; exit 1; }
pid=$(cat /run/box/pod/pid)
ns="net=/proc/$pid/ns/net,uts=/proc/$pid/ns/uts,pid=/proc/$pid/ns/pid"
inside=$(box run --rootfs "$root" --memory 32M --ns "$ns" \
    --bind /bin/busybox:/bin/busybox:ro -- /bin/busybox sh -c \
    'echo "$(/bin/busybox hostname) $$ $(/bin/busybox readlink /proc/self/ns/net)"; /bin/busybox ip link show lo; /bin/busybox ps -o args' 2>&1)
echo "joined: $inside"
want_net=$(/bin/busybox readlink "/proc/$pid/ns/net")
set -- $(echo "$inside" | head -n 1)
[ "$1 $3" = "pod $want_net" ] || { echo "not in the pod's UTS and network namespaces ($want_net)"; exit 1; }
[ "$2" = 1 ] && { echo "PID 1 in a joined PID namespace"; exit 1; }
echo "$inside" | grep -q "lo: <LOOPBACK,UP" || { echo "the pod's loopback is not as the pod set it up"; exit 1; }
echo "$inside" | grep -qx "/bin/busybox sleep 1000" || { echo "the pod's sleep is not seen"; exit 1; }

out=$(box run --rootfs "$root" --name wrongtype --memory 32M --ns "uts=/proc/$pid/ns/net" -- /bin/true 2>&1)
status=$?
echo "wrong type: $out"
[ "$status" = 125 ] || { echo "exit $status, not 125"; exit 1; }
echo "$out" | grep -q "not a UTS namespace (NS_GET_NSTYPE says net)" || { echo "no clear refusal"; exit 1; }
no_cgroup_left wrongtype || exit 1

# A user namespace (box's unshare -r, the caller mapped to root): the init
# is forked into a new PID namespace made inside it (clone3 CLONE_PARENT),
# with the usual seccomp filter.
unshare -U -r /bin/busybox sleep 1000 &
holder=$!
for _ in $(seq 50); do
    [ "$(/bin/busybox readlink /proc/$holder/ns/user)" != "$(/bin/busybox readlink /proc/self/ns/user)" ] && break
    sleep 0.1
done
want_user=$(/bin/busybox readlink "/proc/$holder/ns/user")
inside=$(box run --rootfs "$root" --memory 32M --ns "user=/proc/$holder/ns/user" \
    --bind /bin/busybox:/bin/busybox:ro -- /bin/busybox sh -c \
    'echo "$$ $(/bin/busybox readlink /proc/self/ns/user) $(/bin/busybox grep ^Seccomp: /proc/self/status)"' 2>&1)
kill "$holder"
echo "user joined: $inside"
set -- $inside
[ "$1 $2" = "1 $want_user" ] || { echo "not PID 1 of its own in the user namespace $want_user"; exit 1; }
[ "$4" = 2 ] || { echo "no seccomp filter"; exit 1; }

box stop pod --time 1 >/dev/null 2>&1
box rm pod || { echo "box rm exited $?"; exit 1; }
no_cgroup_left pod || exit 1
exit 0
