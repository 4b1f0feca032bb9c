//! The container's filesystem view, built by the child in its new mount
//! namespace: cut propagation to the host, make the rootfs a mount, fresh
//! kernel filesystems, switch the root (pivot_root, or move-and-chroot on the
//! initramfs), then /dev, binds and tmpfs (in the order given) and the
//! masked /proc paths.
//!
//! Each step says why it is there and why at that point; the tables say
//! what is mounted and why.

use crate::packed::Packed;
use core::ffi::CStr;

use rustix::fs::{FileType, Mode};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use crate::config::{DEVICE_MKNOD, Device, MAX_BINDS, MAX_DEVICES, Propagation};
use crate::container::calls::{Calls, Kernel};
use crate::container::plan::Plan;
use crate::devices::{HostDevice, Kind};
use crate::error::{Context, Error, Result};
use crate::mountinfo::{Escaped, MountEntry, MountinfoReader, PATH_BYTES, ReadError};
use crate::sys::mount::Create;
use crate::sys::timing::{self, Step};
use crate::text::CPath;

use linux_raw_sys::general as k;

/// No setuid, device nodes or exec: what every filesystem box mounts for
/// the kernel's interfaces or as scratch carries.
const NOSUID_NODEV_NOEXEC: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

/// A filesystem mounted fresh at `target`.
struct FreshMount {
    target: &'static CStr,
    fstype: &'static CStr,
    flags: MountFlags,
    data: Option<&'static CStr>,
}

/// Kernel filesystems mounted inside the rootfs *before* the root switch
/// (relative to the rootfs, one component each). In a user namespace the
/// kernel allows a new procfs or sysfs only while a fully visible one is in
/// the mount namespace ("mount too revealing"), which stops being true once
/// the host's root is detached.
const KERNEL_MOUNTS: &[FreshMount] = &[
    // A /proc of the container's own PID namespace (pid_namespaces(7)):
    // `ps` sees only the container. No setuid, devices or exec from it.
    FreshMount {
        target: c"proc",
        fstype: c"proc",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    },
    // sysfs, read-only: devices and kernel tunables are the host's.
    FreshMount {
        target: c"sys",
        fstype: c"sysfs",
        flags: MountFlags::RDONLY.union(NOSUID_NODEV_NOEXEC),
        data: None,
    },
];

/// /dev: a small tmpfs of the container's own instead of the host's devtmpfs,
/// so the container sees only the devices listed in [`DEVICES`].
const DEV: FreshMount = FreshMount {
    target: c"/dev",
    fstype: c"tmpfs",
    flags: MountFlags::NOSUID.union(MountFlags::STRICTATIME),
    data: Some(c"mode=755,size=64k"),
};

/// Filesystems under the fresh /dev, each on a directory of that name made
/// in it (see `setup_dev`).
const DEV_MOUNTS: &[FreshMount] = &[
    // A private devpts instance: the container's terminals are its own, and
    // /dev/ptmx (a link to pts/ptmx) opens them.
    FreshMount {
        target: c"pts",
        fstype: c"devpts",
        flags: MountFlags::NOSUID.union(MountFlags::NOEXEC),
        data: Some(c"newinstance,ptmxmode=0666,mode=0620"),
    },
    // POSIX shared memory.
    FreshMount {
        target: c"shm",
        fstype: c"tmpfs",
        flags: NOSUID_NODEV_NOEXEC,
        data: Some(c"mode=1777,size=65536k"),
    },
    // POSIX message queues, last: only with an IPC namespace not box's
    // own (see `setup_dev`).
    FreshMount {
        target: c"mqueue",
        fstype: c"mqueue",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    },
];

/// Device nodes of a container (the set Docker gives): character devices
/// that are harmless to share. `tty` opens the controlling terminal, if any.
/// The device rules (src/devices.rs DEFAULT_RULES) allow these.
const DEVICES: &[(&CStr, u32, u32)] = &[
    (c"/dev/null", 1, 3),
    (c"/dev/zero", 1, 5),
    (c"/dev/full", 1, 7),
    (c"/dev/random", 1, 8),
    (c"/dev/urandom", 1, 9),
    (c"/dev/tty", 5, 0),
];

/// Links every program expects in /dev.
const DEV_LINKS: &[(&CStr, &CStr)] = &[
    (c"/dev/ptmx", c"pts/ptmx"),
    (c"/dev/fd", c"/proc/self/fd"),
    (c"/dev/stdin", c"/proc/self/fd/0"),
    (c"/dev/stdout", c"/proc/self/fd/1"),
    (c"/dev/stderr", c"/proc/self/fd/2"),
];

/// Paths hidden from the container (covered by /dev/null, or an empty
/// read-only tmpfs for directories): they leak host memory (kcore), kernel
/// keys and timers, or act on the host (sysrq-trigger, firmware, power
/// capping). Missing ones are skipped.
const MASKED: &[&CStr] = &[
    c"/proc/kcore",
    c"/proc/keys",
    c"/proc/timer_list",
    c"/proc/sysrq-trigger",
    c"/proc/acpi",
    c"/proc/latency_stats",
    c"/proc/sched_debug",
    c"/proc/scsi",
    c"/sys/firmware",
    c"/sys/devices/virtual/powercap",
];

/// /proc paths that stay readable but not writable: kernel tunables
/// (sysctl), IRQ affinity, bus and filesystem settings are the host's.
const READ_ONLY: &[&CStr] = &[c"/proc/bus", c"/proc/fs", c"/proc/irq", c"/proc/sys"];

/// Host trees cloned before the root switch, attached after it.
pub struct HostTrees<Fd> {
    /// One per `--bind`, in order, with whether its nodev (and read-only)
    /// took on the detached tree; `None` where the bind was already made
    /// (kernels without open_tree).
    binds: heapless::Vec<Option<(Fd, bool)>, MAX_BINDS>,
    /// Host device nodes, for user namespaces, where mknod is not allowed.
    devices: heapless::Vec<Fd, 6>,
    /// One per `--device`: the host's node to bind, where box does not
    /// make one (see [`binds_host_node`]).
    device_nodes: heapless::Vec<Option<Fd>, MAX_DEVICES>,
}

/// Build the container's filesystem and switch into it. Out of line:
/// LLVM inlined it into the child's `run` once tmpcopyup made
/// `mount_tmpfs` a function of its own, which took 1 KiB more.
#[inline(never)]
pub fn build(plan: &Plan) -> Result<()> {
    build_with(&mut Kernel, plan)
}

/// [`build`], each call made through `kernel` (src/container/calls.rs).
fn build_with<K: Calls>(kernel: &mut K, plan: &Plan) -> Result<()> {
    let config = plan.config;
    let rootfs = plan.rootfs.as_cstr();
    let in_userns = plan.config.user_namespace();

    // 1. Cut propagation. clone(CLONE_NEWNS) copied the host's mounts with
    //    their propagation; on systemd hosts they are shared, so every mount
    //    below would appear on the host too, and pivot_root(2) refuses a
    //    shared new root or parent (EINVAL). A slave still receives the
    //    host's mount events but sends none back (mount_namespaces(7)).
    let propagation = match config.propagation {
        Propagation::Slave => MountPropagationFlags::DOWNSTREAM,
        _ => MountPropagationFlags::PRIVATE,
    };
    kernel
        .change_propagation(c"/", propagation | MountPropagationFlags::REC)
        .at(packed!("make the mounts private"), "mount", b"/")
        .map_err(|e| {
            if e.errno() == Some(Errno::INVAL) {
                e.hint(packed!(
                    "/ is not a mount point: is box running inside a chroot?"
                ))
            } else {
                e
            }
        })?;
    timing::mark(Step::Private);

    // 2. Bind the rootfs onto itself. pivot_root(2) needs the new root to be
    //    a mount point, and the container gets a mount of its own to make
    //    read-only without touching the host's. Recursive: mounts the host
    //    has inside the rootfs come along.
    kernel.bind(rootfs, rootfs, true).at(
        packed!("bind the rootfs"),
        "mount",
        plan.rootfs.as_bytes(),
    )?;
    let root =
        kernel
            .open_dir(rootfs)
            .at(packed!("open the rootfs"), "open", plan.rootfs.as_bytes())?;
    timing::mark(Step::BindRoot);

    // 3. nodev on the rootfs and every mount under it: a device node in the
    //    image, or on a host mount that came with it, must not open
    //    (src/devices.rs). --read-only in the same call, now, before
    //    anything is mounted inside: only the image (and mounts that came
    //    with it) becomes read-only; /proc, /dev, binds and tmpfs keep
    //    their own flags. The top mount, the image's own directory, is
    //    made read-only last (step 8): the mount points missing in it are
    //    made first, as for a writable one.
    let (made, step) = if config.read_only {
        (
            kernel.set_nodev_read_only_below(rootfs),
            packed!("make the rootfs read-only"),
        )
    } else {
        (
            kernel.set_nodev(rootfs, true, false),
            packed!("make the rootfs nodev"),
        )
    };
    made.at(step, "mount_setattr", plan.rootfs.as_bytes())?;
    timing::mark(Step::Nodev);

    // 4. Kernel filesystems, while the host's are still visible (see
    //    KERNEL_MOUNTS).
    for fresh in KERNEL_MOUNTS {
        mount_kernel_fs(kernel, &root, plan, fresh, in_userns)?;
    }
    timing::mark(Step::KernelFs);

    // 5. Host paths for --bind (and device nodes in a user namespace, and
    //    --device nodes box does not make) are out of reach after the
    //    switch: clone them now as detached trees.
    let trees = clone_host_trees(kernel, plan, in_userns)?;
    timing::mark(Step::HostTrees);

    // 6. Switch the root.
    switch_root(kernel, &root, plan)?;
    drop(root);
    timing::mark(Step::PivotRoot);

    // 7. /dev, then what the user asked for, then the masks (which need
    //    /dev/null and cover whatever a bind may have brought).
    setup_dev(kernel, plan, &trees)?;
    timing::mark(Step::Dev);
    mount_binds_and_tmpfs(kernel, plan, trees)?;
    timing::mark(Step::Binds);
    mask_proc_and_sys(kernel, plan)?;
    timing::mark(Step::Masks);

    // 8. --read-only: the image's top mount too, now that its mount points
    //    are made (what runc does).
    if config.read_only {
        kernel.set_read_only(c"/", false).at(
            packed!("make the rootfs read-only"),
            "mount",
            b"/",
        )?;
    }

    // 9. Propagation asked for after the switch, once every mount is in
    //    place (an unbindable tree refuses the binds above): a shared root
    //    becomes a peer group of its own, so mounts made inside (a nested
    //    container, systemd) propagate within the container, never to the
    //    host; an unbindable one cannot be bind-mounted elsewhere.
    let after = match config.propagation {
        Propagation::Shared => Some(MountPropagationFlags::SHARED),
        Propagation::Unbindable => Some(MountPropagationFlags::UNBINDABLE),
        _ => None,
    };
    if let Some(flags) = after {
        kernel
            .change_propagation(c"/", flags | MountPropagationFlags::REC)
            .at(packed!("set the root's propagation"), "mount", b"/")?;
    }
    Ok(())
}

fn mount_kernel_fs<K: Calls>(
    kernel: &mut K,
    root: &K::Fd,
    plan: &Plan,
    fresh: &FreshMount,
    in_userns: bool,
) -> Result<()> {
    let name = fresh.target;
    let sys = name == c"sys";
    let step = if sys {
        packed!("mount /sys")
    } else {
        packed!("mount /proc")
    };
    let inside = path_in(plan, name);
    // One component, opened without following a symlink: an image cannot
    // redirect this mount onto the host. fchdir + "." then names exactly
    // that directory, with no need for the host's /proc.
    let opened = match kernel.open_dir_at(root, name) {
        Err(Errno::NOENT) => kernel
            .mkdir_at(root, name, Mode::from_raw_mode(0o555))
            .map_err(|e| ("mkdir", e))
            .and_then(|()| kernel.open_dir_at(root, name).map_err(|e| ("open", e))),
        other => other.map_err(|e| ("open", e)),
    };
    let entered = opened.and_then(|dir| kernel.fchdir(&dir).map_err(|e| ("chdir", e)));
    if let Err((call, e)) = entered {
        return Err(Error::sys(step, call, inside.as_bytes(), e));
    }
    let mounted = kernel.mount(fresh.fstype, c".", fresh.flags, fresh.data);
    // Back to the rootfs: "." still names the directory under the new mount,
    // while `name` from the rootfs now leads into it.
    kernel
        .fchdir(root)
        .at(step, "chdir", plan.rootfs.as_bytes())?;
    match mounted {
        // sysfs in a user namespace without a network namespace of its own
        // is refused (EPERM): give it the host's, read-only.
        Err(Errno::PERM) if sys && in_userns => {
            kernel
                .bind(c"/sys", name, true)
                .at(step, "mount", b"/sys")?;
            kernel
                .set_read_only(name, true)
                .at(step, "mount_setattr", inside.as_bytes())
        }
        Err(e) => {
            let error = Error::sys(step, "mount", inside.as_bytes(), e);
            Err(if e == Errno::PERM && in_userns {
                error.hint(packed!("the host's /proc has mounts over parts of it, so the kernel refuses a new one in a user namespace"))
            } else {
                error
            })
        }
        Ok(()) => Ok(()),
    }
}

/// `ROOTFS/NAME` for messages.
fn path_in(plan: &Plan, name: &CStr) -> CPath {
    CPath::from_parts(&[plan.rootfs.as_bytes(), b"/", name.to_bytes()]).unwrap_or(plan.rootfs)
}

fn clone_host_trees<K: Calls>(
    kernel: &mut K,
    plan: &Plan,
    in_userns: bool,
) -> Result<HostTrees<K::Fd>> {
    let mut trees = HostTrees {
        binds: heapless::Vec::new(),
        devices: heapless::Vec::new(),
        device_nodes: heapless::Vec::new(),
    };
    let mut have_open_tree = true;
    for bind in &plan.config.binds {
        let source = bind.source.as_cstr();
        if have_open_tree {
            match kernel.clone_tree(source) {
                Ok(tree) => {
                    // Here (5.12+), so that the tree is never attached
                    // without them; attach_bind sets them again where
                    // this did not take.
                    let set = kernel.tree_nodev(&tree, bind.read_only).is_ok();
                    let _ = trees.binds.push(Some((tree, set)));
                    continue;
                }
                Err(Errno::NOSYS) => have_open_tree = false,
                Err(e) => {
                    return Err(Error::sys(
                        packed!("bind"),
                        "open_tree",
                        bind.source.as_bytes(),
                        e,
                    ));
                }
            }
        }
        // Before Linux 5.2 there is no open_tree: bind into the rootfs now,
        // through the path. (Without openat2 either, a symlink planted in
        // the image could redirect this; see the README.)
        let target = CPath::from_parts(&[plan.rootfs.as_bytes(), bind.target.as_bytes()])
            .ok_or_else(|| crate::bad!("--bind {}: path too long", bind.target))?;
        let create = create_for(kernel, source)?;
        mount_point(
            kernel,
            packed!("create the --bind mount point"),
            target.as_cstr(),
            create,
        )?;
        kernel.bind(source, target.as_cstr(), true).at(
            packed!("bind"),
            "mount",
            bind.source.as_bytes(),
        )?;
        let _ = trees.binds.push(None);
    }
    if in_userns {
        for (path, _, _) in DEVICES {
            let tree = kernel.clone_tree(path).at(
                packed!("bind the host's device nodes"),
                "open_tree",
                path.to_bytes(),
            )?;
            let _ = trees.devices.push(tree);
        }
    }
    for device in &plan.config.devices {
        let tree = if binds_host_node(in_userns, device) {
            Some(kernel.clone_tree(device.host.as_cstr()).at(
                packed!("bind the --device node"),
                "open_tree",
                device.host.as_bytes(),
            )?)
        } else {
            None
        };
        // One per --device, at most MAX_DEVICES.
        let _ = trees.device_nodes.push(tree);
    }
    Ok(trees)
}

/// Whether a `--device` node inside is the host's own, bound in, rather
/// than one box makes with mknod: in a user namespace the kernel refuses
/// mknod of a device, and without `m` the container's own device rules
/// refuse it to box too (box makes nodes after it is in the container's
/// cgroup). The bind is read-only: the node's mode and owner are the
/// host's, which root inside must not change.
fn binds_host_node(in_userns: bool, device: &Device) -> bool {
    in_userns || device.access & DEVICE_MKNOD == 0
}

/// A mount point of the same kind as the source: a directory for a
/// directory, an empty file for anything else.
fn create_for<K: Calls>(kernel: &mut K, source: &CStr) -> Result<Create> {
    let kind = kernel
        .file_type(source)
        .at(packed!("bind"), "stat", source.to_bytes())?;
    Ok(if kind == FileType::Directory {
        Create::Dir
    } else {
        Create::File
    })
}

fn switch_root<K: Calls>(kernel: &mut K, root: &K::Fd, plan: &Plan) -> Result<()> {
    kernel
        .fchdir(root)
        .at(packed!("enter the rootfs"), "chdir", plan.rootfs.as_bytes())?;
    if !plan.config.no_pivot {
        // pivot_root(".", "."): the old root ends up stacked on the new one
        // and is detached right away, with everything under it, so nothing
        // of the host stays reachable (pivot_root(2), NOTES). It is private
        // (step 1), so the detach does not propagate to the host.
        match kernel.pivot_root(c".", c".") {
            Ok(()) => {
                kernel.unmount(c".", UnmountFlags::DETACH).at(
                    packed!("detach the old root"),
                    "umount2",
                    b"/",
                )?;
                return kernel
                    .chdir(c"/")
                    .at(packed!("enter the new root"), "chdir", b"/");
            }
            Err(Errno::INVAL) if kernel.root_is_initramfs() => {}
            Err(e) => {
                let error = Error::sys(
                    packed!("switch into the rootfs"),
                    "pivot_root",
                    plan.rootfs.as_bytes(),
                    e,
                );
                return Err(if e == Errno::INVAL {
                    error.hint(packed!("the current root is not a mount point (box inside a chroot?) or a parent mount is shared; --no-pivot uses move-and-chroot"))
                } else {
                    error
                });
            }
        }
    }
    move_and_chroot(kernel, plan)
}

/// The initramfs cannot be pivoted away (it is the root of the mount tree and
/// can never be unmounted; pivot_root(2) says EINVAL until Linux 7.0 puts
/// nullfs under it). Do what switch_root(8) does, in our own namespace: move
/// the new root over "/" and chroot into it; in between, detach every other
/// mount of the namespace (see [`detach_host_mounts`]).
///
/// What stays underneath is the old root mount itself (on a board, the
/// initramfs), and whatever holds it when box itself runs below the
/// namespace's root: the new root sits on it, so it cannot be detached
/// without the new root. It is out of reach: the container has no
/// CAP_SYS_ADMIN to unmount what covers it, and ".." from the new root's top
/// lands on the mount covering "/", which is the new root again, so a
/// chroot escape goes nowhere. It is never procfs or sysfs, whose full view
/// would let a user namespace inside mount them again.
fn move_and_chroot<K: Calls>(kernel: &mut K, plan: &Plan) -> Result<()> {
    kernel.move_mount(c".", c"/").at(
        packed!("move the rootfs over /"),
        "mount",
        plan.rootfs.as_bytes(),
    )?;
    kernel.detach_host_mounts(plan)?;
    kernel.chroot(c".").at(
        packed!("chroot into the rootfs"),
        "chroot",
        plan.rootfs.as_bytes(),
    )?;
    kernel
        .chdir(c"/")
        .at(packed!("enter the new root"), "chdir", b"/")
}

/// Most mounts [`detach_host_mounts`] handles in the container's copy of
/// the host's mount namespace (8 KiB of the child's stack).
pub const MAX_MOUNTS: usize = 1024;
// The messages say these numbers as they are (a number in the text of a
// message costs no code, an argument does).
const _: () = assert!(MAX_MOUNTS == 1024 && PATH_BYTES == 4096);

/// One mount of the namespace, as mountinfo gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MountNode {
    id: u32,
    parent: u32,
}

/// What [`detach_host_mounts`] does with a mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// The new root and the mounts under it: the container's own.
    Keep,
    /// A mount that holds the new root (the old root): it cannot go.
    Holds,
    /// Outside the new root, on a mount that holds it: detached, with all
    /// that is mounted under it.
    Detach,
    /// Under a mount that is detached: goes with it.
    GoesWithParent,
}

/// The fate of `node` in `nodes`, given the new root's mount ID.
fn fate(nodes: &[MountNode], new_root: u32, node: MountNode) -> Fate {
    let parent_of = |id: u32| nodes.iter().find(|n| n.id == id).map(|n| n.parent);
    // Walk up from `id` (at most one step per mount: a loop in the parent
    // IDs, which the kernel never shows, cannot hang this).
    let reaches = |from: u32, to: u32| {
        let mut id = from;
        for _ in 0..=nodes.len() {
            if id == to {
                return true;
            }
            match parent_of(id) {
                Some(parent) if parent != id => id = parent,
                _ => return false,
            }
        }
        false
    };
    if reaches(node.id, new_root) {
        Fate::Keep
    } else if reaches(new_root, node.id) {
        Fate::Holds
    } else if reaches(new_root, node.parent) {
        Fate::Detach
    } else {
        Fate::GoesWithParent
    }
}

/// The mount table of the namespace, from the container's fresh /proc
/// (the host's may be missing, and is one of the mounts to detach): a
/// relative path, read while the rootfs is the working directory.
fn open_mountinfo(step: Packed) -> Result<MountinfoReader> {
    MountinfoReader::open_path(c"proc/self/mountinfo").at(step, "open", b"/proc/self/mountinfo")
}

/// Give each entry of the mount table ([`open_mountinfo`]), or why a line
/// could not be had, to `each` until it says to stop (`Ok(true)`) or
/// fails. One reading loop for every walk over the mounts.
fn walk_mounts(
    step: Packed,
    each: &mut dyn FnMut(core::result::Result<MountEntry<'_>, ReadError>) -> Result<bool>,
) -> Result<()> {
    let mut reader = open_mountinfo(step)?;
    while let Some(entry) = reader.next_entry() {
        if each(entry)? {
            break;
        }
    }
    Ok(())
}

/// The mounts of the namespace, from the container's fresh /proc (the
/// host's may be missing, and is one of the mounts to detach).
fn read_mount_tree(nodes: &mut heapless::Vec<MountNode, MAX_MOUNTS>) -> Result<()> {
    const STEP: Packed = packed!("detach the host's mounts");
    nodes.clear();
    walk_mounts(STEP, &mut |entry| {
        let entry = match entry {
            Ok(entry) => entry,
            Err(ReadError::Read(e)) => {
                return Err(Error::sys(STEP, "read", b"/proc/self/mountinfo", e));
            }
            // A line too long to parse still names a mount that must go:
            // refuse rather than leave it.
            Err(_) => {
                return Err(crate::bad!(
                    "detach the host's mounts: a line of /proc/self/mountinfo could not be read"
                ));
            }
        };
        let node = MountNode {
            id: entry.mount_id,
            parent: entry.parent_id,
        };
        nodes.push(node).map_err(|_| {
            crate::bad!("detach the host's mounts: more than 1024 mounts in the namespace (pivot_root has no such limit)")
        })?;
        Ok(false)
    })
}

/// A mount point from mountinfo as a C string in `buf`; an error of
/// `step` if it does not fit (the kernel's paths are at most 4096 bytes).
fn decode_path<'b>(
    field: Escaped<'_>,
    buf: &'b mut [u8; PATH_BYTES + 1],
    step: Packed,
) -> Result<&'b CStr> {
    let mut len = 0;
    let mut fits = true;
    for byte in field.bytes() {
        if byte == 0 || len == PATH_BYTES {
            fits = false;
            break;
        }
        buf[len] = byte;
        len += 1;
    }
    buf[len] = 0;
    match CStr::from_bytes_with_nul(&buf[..=len]) {
        Ok(path) if fits => Ok(path),
        _ => Err(crate::bad!(
            "{}: a mount point longer than 4096 bytes",
            step
        )),
    }
}

/// Detach every mount of the container's namespace that is neither the new
/// root nor under it. clone(CLONE_NEWNS) copied all of the host's mounts;
/// after the move they are unreachable by path from the new root, but the
/// kernel lets a user namespace mount a new procfs or sysfs whenever one
/// fully visible is anywhere in the mount namespace (mount_too_revealing in
/// fs/namespace.c), reachable or not: a chroot's /proc on the host would do.
///
/// Done after the move, while "/" still names the old root (a chroot comes
/// next): every mount point outside the new root is then reachable by the
/// path mountinfo gives, and the mount the rootfs came from no longer holds
/// it. Each mount on the old root is detached with MNT_DETACH, which takes
/// everything under it along; a pass that meets a mount stacked over
/// another, or one hidden under another, leaves it for the next pass.
///
/// In a user namespace of box's making, the copied mounts are locked
/// (mount_namespaces(7): they cannot be unmounted to reveal what is under
/// them) and umount2 says EINVAL: those that are procfs or sysfs are then
/// covered with an empty read-only tmpfs instead, which makes them not
/// fully visible (the kernel counts a locked mount over them, and every
/// mount here is locked in a user namespace made inside).
pub(super) fn detach_host_mounts(plan: &Plan) -> Result<()> {
    const STEP: Packed = packed!("detach the host's mounts");
    // The new root's mount: "." is its top. Before Linux 5.8 (no
    // STATX_MNT_ID), the last mount listed on "/", the one just moved there.
    let new_root = match crate::sys::mount_point::placement(c".")
        .ok()
        .and_then(|p| p.mount_id)
    {
        Some(id) => id,
        None => last_mount_on_root()?,
    };
    let mut nodes = heapless::Vec::<MountNode, MAX_MOUNTS>::new();
    let mut path = [0u8; PATH_BYTES + 1];
    loop {
        read_mount_tree(&mut nodes)?;
        let left = nodes
            .iter()
            .filter(|&&n| fate(&nodes, new_root, n) == Fate::Detach)
            .count();
        if left == 0 {
            break;
        }
        let mut detached = 0;
        walk_mounts(STEP, &mut |entry| {
            // The first line that cannot be read ends the pass.
            let Ok(entry) = entry else { return Ok(true) };
            let node = MountNode {
                id: entry.mount_id,
                parent: entry.parent_id,
            };
            if fate(&nodes, new_root, node) != Fate::Detach {
                return Ok(false);
            }
            let point = decode_path(entry.mount_point, &mut path, STEP)?;
            match rustix::mount::unmount(point, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW) {
                Ok(()) => detached += 1,
                // Locked, or (this pass) not reachable at its path.
                Err(Errno::INVAL) => {}
                Err(e) => return Err(Error::sys(STEP, "umount2", point.to_bytes(), e)),
            }
            Ok(false)
        })?;
        if detached == 0 {
            // Nothing more will go: what is left is locked.
            cover_locked_kernel_filesystems(&nodes, new_root)?;
            break;
        }
    }
    // With --propagation slave the old root would still receive the host's
    // new mounts (a procfs mounted for a chroot tomorrow): cut it off. "/"
    // is the old root until the chroot.
    if plan.config.propagation == Propagation::Slave {
        rustix::mount::mount_change(c"/", MountPropagationFlags::PRIVATE).at(
            packed!("cut the old root from the host's mount events"),
            "mount",
            b"/",
        )?;
    }
    Ok(())
}

/// The last mount listed on "/" (see [`detach_host_mounts`]).
fn last_mount_on_root() -> Result<u32> {
    let mut last = None;
    walk_mounts(packed!("detach the host's mounts"), &mut |entry| {
        if let Ok(entry) = entry
            && entry.mount_point.is(b"/")
        {
            last = Some(entry.mount_id);
        }
        Ok(false)
    })?;
    last.ok_or_else(|| {
        crate::bad!("detach the host's mounts: no mount on / in /proc/self/mountinfo")
    })
}

/// Cover each whole procfs or sysfs that could not be detached (locked in
/// a user namespace) with an empty read-only tmpfs, then check that each
/// has a mount stacked over it: one that sits elsewhere (its mount point
/// hidden under another mount) could not be reached, and is an error.
fn cover_locked_kernel_filesystems(nodes: &[MountNode], new_root: u32) -> Result<()> {
    const STEP: Packed = packed!("hide the host's kernel filesystems");
    let mut path = [0u8; PATH_BYTES + 1];
    for check in [false, true] {
        walk_mounts(STEP, &mut |entry| {
            let entry = entry.map_err(|e| {
                crate::bad!(
                    "hide the host's kernel filesystems: /proc/self/mountinfo: {}",
                    e
                )
            })?;
            let node = MountNode {
                id: entry.mount_id,
                parent: entry.parent_id,
            };
            let kernel_fs = entry.fstype.is(b"proc") || entry.fstype.is(b"sysfs");
            if !kernel_fs
                || !entry.root.is(b"/")
                || !nodes.contains(&node)
                || matches!(fate(nodes, new_root, node), Fate::Keep | Fate::Holds)
            {
                return Ok(false);
            }
            let point = decode_path(entry.mount_point, &mut path, STEP)?;
            if check {
                if !covered(node.id, point)? {
                    return Err(Error::sys(STEP, "umount2", point.to_bytes(), Errno::INVAL)
                        .hint(packed!("locked in the user namespace and out of reach to cover: a mount hides its mount point")));
                }
                return Ok(false);
            }
            rustix::mount::mount(
                c"tmpfs",
                point,
                c"tmpfs",
                MountFlags::RDONLY | NOSUID_NODEV_NOEXEC,
                c"size=0,mode=000",
            )
            .at(STEP, "mount", point.to_bytes())?;
            Ok(false)
        })?;
    }
    Ok(())
}

/// Whether a mount is stacked on mount `id`, whose mount point is `point`.
fn covered(id: u32, point: &CStr) -> Result<bool> {
    let mut found = false;
    walk_mounts(
        packed!("hide the host's kernel filesystems"),
        &mut |entry| {
            found = entry
                .is_ok_and(|entry| entry.parent_id == id && entry.mount_point.is(point.to_bytes()));
            Ok(found)
        },
    )?;
    Ok(found)
}

fn setup_dev<K: Calls>(kernel: &mut K, plan: &Plan, trees: &HostTrees<K::Fd>) -> Result<()> {
    // mqueue shows the message queues of the IPC namespace of whoever
    // mounts it, so it belongs only with an IPC namespace not box's own
    // (new, or joined).
    let without_mqueue = usize::from(!plan.own_or_joined(k::CLONE_NEWIPC));
    let dir = mount_point(kernel, packed!("create /dev"), DEV.target, Create::Dir)?;
    kernel.mount_on(DEV.fstype, &dir, DEV.flags, DEV.data).at(
        packed!("mount /dev"),
        "mount",
        b"/dev",
    )?;
    // The fresh /dev, resolved once as any mount point, and from inside
    // it the directories made for the filesystems under it and those
    // mounted: nothing else is in it yet, no link to follow, and /dev is
    // not walked again for each.
    let dev = mount_point(kernel, packed!("mount /dev"), DEV.target, Create::Dir)?;
    kernel
        .fchdir(&dev)
        .at(packed!("mount /dev"), "chdir", b"/dev")?;
    for fresh in &DEV_MOUNTS[..DEV_MOUNTS.len() - without_mqueue] {
        let name = fresh.target;
        let made = kernel
            .mkdir_at(&dev, name, Mode::from_raw_mode(0o755))
            .map_err(|e| ("mkdir", e))
            .and_then(|()| {
                kernel
                    .mount(fresh.fstype, name, fresh.flags, fresh.data)
                    .map_err(|e| ("mount", e))
            });
        if let Err((call, e)) = made {
            return Err(Error::sys(packed!("mount /dev"), call, name.to_bytes(), e));
        }
    }
    kernel
        .chdir(c"/")
        .at(packed!("mount /dev"), "chdir", b"/")?;
    drop(dev);
    if trees.devices.is_empty() {
        // mknod applies the umask; the nodes must be 0666 whatever the
        // caller's umask, which the command inherits unchanged afterwards.
        let umask = kernel.umask(Mode::empty());
        for &(path, major, minor) in DEVICES {
            let made = kernel.mknod(path, FileType::CharacterDevice, 0o666, major, minor);
            if let Err(e) = made {
                kernel.umask(umask);
                return Err(Error::sys(
                    packed!("create device nodes"),
                    "mknod",
                    path.to_bytes(),
                    e,
                ));
            }
        }
        kernel.umask(umask);
    } else {
        // In a user namespace mknod is refused: bind the host's nodes.
        for (&(path, _, _), tree) in DEVICES.iter().zip(trees.devices.iter()) {
            let node = mount_point(kernel, packed!("create device nodes"), path, Create::File)?;
            kernel.attach_tree(tree, &node).at(
                packed!("bind device nodes"),
                "move_mount",
                path.to_bytes(),
            )?;
        }
    }
    for &(link, target) in DEV_LINKS {
        kernel.symlink(target, link).at(
            packed!("create /dev links"),
            "symlink",
            link.to_bytes(),
        )?;
    }
    let devices = plan.config.devices.iter().zip(&plan.devices);
    for ((device, host), tree) in devices.zip(trees.device_nodes.iter()) {
        make_device_node(kernel, device, host, tree.as_ref())?;
    }
    Ok(())
}

/// A `--device` node at its place under /dev: the same type, numbers,
/// mode and owner as the host's (mknod), or the host's node bound
/// read-only where `tree` holds it.
fn make_device_node<K: Calls>(
    kernel: &mut K,
    device: &Device,
    host: &HostDevice,
    tree: Option<&K::Fd>,
) -> Result<()> {
    const STEP: Packed = packed!("create a --device node");
    let inside = device.inside.as_cstr();
    let bytes = device.inside.as_bytes();
    if let Some(tree) = tree {
        // An empty file to bind onto, and its directories.
        let node = mount_point(kernel, STEP, inside, Create::File)?;
        kernel
            .attach_tree(tree, &node)
            .at(STEP, "move_mount", bytes)?;
        return kernel.set_read_only(inside, false).at(STEP, "mount", bytes);
    }
    // /dev/bus/usb/001/002 needs its directories.
    let parent = &bytes[..bytes.iter().rposition(|&b| b == b'/').unwrap_or(0)];
    if parent != b"/dev" {
        let parent = CPath::from_bytes(parent).unwrap_or_default();
        mount_point(kernel, STEP, parent.as_cstr(), Create::Dir)?;
    }
    let kind = match host.kind {
        Kind::Char => FileType::CharacterDevice,
        Kind::Block => FileType::BlockDevice,
    };
    // The host's mode exactly, whatever the umask.
    let umask = kernel.umask(Mode::empty());
    let node = kernel.mknod(inside, kind, host.mode, host.major, host.minor);
    kernel.umask(umask);
    if let Err(e) = node {
        let error = Error::sys(STEP, "mknod", bytes, e);
        return Err(if e == Errno::EXIST {
            error.hint(packed!("box makes null, zero, full, random, urandom, tty, ptmx, fd and stdin/out/err itself: give another path inside"))
        } else {
            error
        });
    }
    if host.uid != 0 || host.gid != 0 {
        kernel
            .chown(inside, host.uid, host.gid)
            .at(STEP, "chown", bytes)?;
    }
    Ok(())
}

/// The binds and tmpfs in the order given, each on its own mount point
/// (made where missing: in the rootfs, or in a mount made before it), so
/// that one given later covers what an earlier one put under its target,
/// and never the other way round (the runtime-spec's order of `mounts`).
/// Binds made before the switch (kernels without open_tree) came first.
fn mount_binds_and_tmpfs<K: Calls>(
    kernel: &mut K,
    plan: &Plan,
    trees: HostTrees<K::Fd>,
) -> Result<()> {
    let config = plan.config;
    let mut tmpfs = config.tmpfs.iter().peekable();
    let mut trees = trees.binds.into_iter();
    for (i, bind) in config.binds.iter().enumerate() {
        while let Some(t) = tmpfs.next_if(|t| usize::from(t.after_binds) <= i) {
            mount_tmpfs(kernel, t)?;
        }
        attach_bind(kernel, bind, trees.next().flatten())?;
        timing::mark(Step::Binds);
    }
    for t in tmpfs {
        mount_tmpfs(kernel, t)?;
    }
    Ok(())
}

fn mount_tmpfs<K: Calls>(kernel: &mut K, tmpfs: &crate::config::Tmpfs) -> Result<()> {
    let target = tmpfs.target.as_cstr();
    let dir = mount_point(
        kernel,
        packed!("create the --tmpfs mount point"),
        target,
        Create::Dir,
    )?;
    // tmpcopyup: the directory about to be covered, opened for reading
    // now; once the tmpfs is over it, this descriptor is the only way to
    // what it held.
    #[cfg(feature = "oci")]
    let covered = match tmpfs.copy_up {
        crate::config::CopyUp::No => None,
        _ => Some(kernel.open_covered(&dir).at(
            packed!("tmpcopyup: open the covered directory"),
            "openat",
            target.to_bytes(),
        )?),
    };
    let mut data = CPath::from_bytes(tmpfs.options.as_bytes()).unwrap_or_default();
    if data.is_empty() {
        let _ = data.push(b"mode=1777");
    }
    kernel
        .mount_on(
            c"tmpfs",
            &dir,
            MountFlags::NOSUID | MountFlags::NODEV,
            Some(data.as_cstr()),
        )
        .at(packed!("mount --tmpfs"), "mount", tmpfs.target.as_bytes())?;
    // ...and copied into the tmpfs, reached by the same path again (the
    // mount point's descriptor still names the covered directory).
    #[cfg(feature = "oci")]
    if let Some(covered) = covered {
        let top = mount_point(
            kernel,
            packed!("tmpcopyup: open the tmpfs"),
            target,
            Create::Dir,
        )?;
        kernel.copy_up(&covered, &top, tmpfs.copy_up, target)?;
    }
    timing::mark(Step::Tmpfs);
    Ok(())
}

fn attach_bind<K: Calls>(
    kernel: &mut K,
    bind: &crate::config::Bind,
    tree: Option<(K::Fd, bool)>,
) -> Result<()> {
    let target = bind.target.as_cstr();
    // nodev always, on the whole bound tree: a host directory with
    // device nodes in it (`--bind /dev:/hostdev`) hands none of them
    // over (src/devices.rs; `--device` does that). Read-only when asked.
    let step = if bind.read_only {
        packed!("make a bind read-only")
    } else {
        packed!("make a bind nodev")
    };
    let attrs = if let Some((tree, set)) = tree {
        let create = if kernel.fd_type(&tree) == Ok(FileType::Directory) {
            Create::Dir
        } else {
            Create::File
        };
        let point = mount_point(
            kernel,
            packed!("create the --bind mount point"),
            target,
            create,
        )?;
        if let Err(e) = kernel.attach_tree(&tree, &point) {
            return Err(
                bind_target_mismatch(kernel, bind, create).unwrap_or_else(|| {
                    Error::sys(packed!("bind"), "move_mount", bind.target.as_bytes(), e)
                }),
            );
        }
        if set {
            // Made nodev (and read-only) before it was attached, and
            // attached as it was.
            return Ok(());
        }
        // Through the tree, now attached: not the path again.
        kernel.tree_nodev(&tree, bind.read_only)
    } else {
        Err(Errno::NOSYS)
    };
    match attrs {
        // Before Linux 5.12 (or 5.2, bound by path): a remount of the path.
        Err(Errno::NOSYS) => kernel.set_nodev(target, true, bind.read_only),
        other => other,
    }
    .at(step, "mount_setattr", bind.target.as_bytes())
}

/// Why a bind could not be attached, when the target inside the rootfs is
/// the cause (move_mount says only EINVAL or ENOTDIR): a file where the
/// source is a directory, or the other way round.
fn bind_target_mismatch<K: Calls>(
    kernel: &mut K,
    bind: &crate::config::Bind,
    source: Create,
) -> Option<Error> {
    let what = match kernel.file_type(bind.target.as_cstr()).ok()? {
        FileType::Directory if source == Create::File => {
            "the source is a file but the target inside the rootfs is a directory"
        }
        FileType::Directory => return None,
        _ if source == Create::Dir => {
            "the source is a directory but the target inside the rootfs is not"
        }
        _ => return None,
    };
    Some(crate::bad!(
        "--bind {}:{}: {}",
        bind.source,
        bind.target,
        what
    ))
}

/// The mount point at `path` ([`Calls::mount_point`]), made where
/// missing; a path through a /proc magic link refused, and said so.
fn mount_point<K: Calls>(
    kernel: &mut K,
    step: Packed,
    path: &CStr,
    create: Create,
) -> Result<K::Fd> {
    kernel.mount_point(path, create).map_err(|e| {
        let error = Error::sys(step, "openat2", path.to_bytes(), e);
        if e == Errno::LOOP {
            error.hint(packed!("the image's path crosses a /proc magic link (/proc/PID/root, fd/N): box refuses to resolve mount points through them"))
        } else {
            error
        }
    })
}

fn mask_proc_and_sys<K: Calls>(kernel: &mut K, plan: &Plan) -> Result<()> {
    let masked = MASKED.iter().copied();
    for path in masked.chain(plan.masked.iter().map(CPath::as_cstr)) {
        let masked = match kernel.file_type(path) {
            Err(Errno::NOENT) => continue,
            Err(e) => Err(("stat", e)),
            Ok(kind) => if kind == FileType::Directory {
                kernel.mount(
                    c"tmpfs",
                    path,
                    MountFlags::RDONLY | NOSUID_NODEV_NOEXEC,
                    Some(c"size=0"),
                )
            } else {
                kernel.bind(c"/dev/null", path, false)
            }
            .map_err(|e| ("mount", e)),
        };
        if let Err((call, e)) = masked {
            return Err(Error::sys(
                packed!("mask /proc and /sys paths"),
                call,
                path.to_bytes(),
                e,
            ));
        }
    }
    let read_only = READ_ONLY.iter().copied();
    for path in read_only.chain(plan.read_only.iter().map(CPath::as_cstr)) {
        match kernel.bind(path, path, true) {
            Err(Errno::NOENT) => continue,
            bound => bound.and_then(|()| kernel.set_read_only(path, false)),
        }
        .at(
            packed!("make /proc paths read-only"),
            "mount",
            path.to_bytes(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::container::calls::record::{Recorder, Step};
    use crate::container::plan::testing;

    /// The steps `build` takes for the plan `box run --rootfs ROOTFS
    /// OPTIONS /bin/sh` makes, recorded instead of made; and the rootfs.
    fn record(options: &[(&str, &str)]) -> (Vec<Step>, String) {
        record_with(options, false)
    }

    /// [`record`], nodev on a detached tree failing with
    /// `detached_nodev_fails`.
    fn record_with(options: &[(&str, &str)], detached_nodev_fails: bool) -> (Vec<Step>, String) {
        let config = testing::config(options);
        let plan = testing::plan(&config).unwrap();
        let mut record = Recorder {
            dirs: vec!["/proc/acpi", "/proc/scsi", "/sys/firmware", "/tmp"],
            missing: vec!["/proc/sched_debug"],
            detached_nodev_fails,
            ..Recorder::default()
        };
        build_with(&mut record, &plan).unwrap();
        (record.steps, testing::rootfs())
    }

    /// The index of the first step `call` on `path`.
    fn at(steps: &[Step], call: &str, path: &str) -> usize {
        steps
            .iter()
            .position(|s| s.call == call && s.path == path)
            .unwrap_or_else(|| panic!("no {call} {path} in {steps:#?}"))
    }

    fn has(steps: &[Step], call: &str) -> bool {
        steps.iter().any(|s| s.call == call)
    }

    /// Where the root is switched: pivot_root, or the move over "/".
    fn switch(steps: &[Step]) -> usize {
        let switch = |s: &Step| s.call == "pivot_root" || s.call == "move";
        steps.iter().position(switch).expect("the root is switched")
    }

    /// What every plan's steps keep to, whatever the options:
    /// - the first step cuts propagation to the host, so no mount made
    ///   after it shows on the host;
    /// - the rootfs is bound onto itself and made nodev (whole tree) before
    ///   anything is mounted inside it;
    /// - /proc and /sys are mounted on directories opened beneath the
    ///   rootfs without following a link, before the switch;
    /// - every fresh filesystem is nosuid, and nodev but for /dev and its
    ///   devpts (which must open the container's terminals and nodes);
    /// - every bind of a host tree is made nodev (whole tree) before it
    ///   is attached, and again right after where that did not take;
    /// - the masks come after /proc, /dev/null and the binds, so that they
    ///   cover what those brought; a path missing is skipped.
    ///
    /// (The PID namespace /proc shows is the child's own: clone made it,
    /// with the mount namespace, before the child builds anything; the
    /// tests of Plan::new check that both are asked for.)
    fn check_common(steps: &[Step], rootfs: &str) {
        assert_eq!(steps[0].call, "propagation", "{:?}", steps[0]);
        assert_eq!(steps[0].path, "/");
        assert!(steps[0].propagation.contains(MountPropagationFlags::REC));
        assert!(!steps[0].propagation.contains(MountPropagationFlags::SHARED));
        let bind = at(steps, "bind", rootfs);
        assert!(steps[bind].recursive && steps[bind].from == rootfs);
        let nodev = at(steps, "nodev", rootfs);
        assert!(steps[nodev].recursive);
        let first_mount = steps.iter().position(|s| s.call == "mount").unwrap();
        assert!(bind < nodev && nodev < first_mount);

        let switch = switch(steps);
        for (name, fstype) in [("proc", "proc"), ("sys", "sysfs")] {
            let dir = format!("{rootfs}/{name}");
            let open = at(steps, "open", &dir);
            let enter = at(steps, "fchdir", &dir);
            let mount = &steps[enter + 1];
            assert_eq!((mount.call, &*mount.path), ("mount", "."), "{mount:?}");
            assert_eq!(mount.from, fstype);
            assert!(mount.flags.contains(NOSUID_NODEV_NOEXEC));
            assert_eq!(steps[enter + 2].path, rootfs, "back to the rootfs");
            assert!(open < enter && enter < switch, "{name} before the switch");
        }
        let sys = at(steps, "fchdir", &format!("{rootfs}/sys"));
        assert!(steps[sys + 1].flags.contains(MountFlags::RDONLY));

        for step in steps.iter().filter(|s| s.call == "mount") {
            assert!(step.flags.contains(MountFlags::NOSUID), "{step:?}");
            let device_files = step.path == "/dev" || step.path == "pts";
            assert_eq!(
                step.flags.contains(MountFlags::NODEV),
                !device_files,
                "{step:?}"
            );
        }
        let first_mask = at(steps, "bind", "/proc/kcore");
        assert_eq!(steps[first_mask].from, "/dev/null");
        for (i, step) in steps.iter().enumerate().filter(|(_, s)| s.call == "attach") {
            assert!(i < first_mask, "{step:?} after the masks");
            if !step.path.starts_with("/dev/") {
                let tree = &*step.from;
                let first = steps
                    .iter()
                    .position(|s| s.call == "tree nodev" && s.path == tree)
                    .expect("nodev on the tree");
                assert!(first < i, "{step:?} attached before nodev");
                let again = &steps[i + 1];
                if steps[first].from == "failed" {
                    // Through the tree, not the target's path again.
                    assert_eq!((again.call, &*again.path), ("tree nodev", tree));
                    assert_eq!(again.read_only, steps[first].read_only);
                } else {
                    assert_ne!(again.call, "tree nodev", "{step:?} made nodev twice");
                }
            }
        }
        // After the switch, every tree is attached and every filesystem
        // mounted onto the mount point just resolved (without /proc magic
        // links, src/sys/mount.rs), not onto a path walked again; the
        // masks, in box's own /proc and /sys, alone go by path.
        // The filesystems under /dev alone go by a name, from inside the
        // fresh /dev resolved once after it is mounted: each on the
        // directory just made there.
        for (i, step) in steps.iter().enumerate().skip(switch) {
            let mask = step.path.starts_with("/proc/") || step.path.starts_with("/sys/");
            let under_dev = !step.path.starts_with('/');
            if step.call == "mount" && under_dev {
                let made = &steps[i - 1];
                let in_dev = format!("/dev/{}", step.path);
                assert_eq!((made.call, &*made.path), ("mkdir", &*in_dev), "{step:?}");
            } else if step.call == "attach" || (step.call == "mount" && !mask) {
                let point = &steps[i - 1];
                assert_eq!((point.call, &*point.path), ("mount point", &*step.path));
            }
        }
        let dev = at(steps, "mount", "/dev");
        let enter = at(steps, "fchdir", "/dev");
        assert_eq!(steps[enter - 1].call, "mount point");
        assert!(dev < enter && steps[enter - 1].path == "/dev");
        let (pts, shm) = (at(steps, "mount", "pts"), at(steps, "mount", "shm"));
        let back = shm + steps[shm..].iter().position(|s| s.call == "chdir").unwrap();
        assert!(enter < pts && pts < shm && steps[back].path == "/");
        let inside = &steps[enter + 1..back];
        assert!(
            inside.iter().all(|s| matches!(s.call, "mkdir" | "mount")),
            "{inside:#?}"
        );
        let proc = at(steps, "fchdir", &format!("{rootfs}/proc"));
        let null = steps
            .iter()
            .position(|s| s.path == "/dev/null" && matches!(s.call, "mknod" | "attach"))
            .expect("/dev/null made");
        assert!(proc < first_mask && null < first_mask);
        for masked in MASKED.iter().map(|p| p.to_str().unwrap()) {
            if masked == "/proc/sched_debug" {
                assert!(
                    !steps.iter().any(|s| s.path == masked),
                    "a missing path is skipped"
                );
                continue;
            }
            let mask = &steps[steps.iter().position(|s| s.path == masked).unwrap()];
            match mask.call {
                "mount" => assert!(mask.flags.contains(MountFlags::RDONLY)),
                "bind" => assert_eq!(mask.from, "/dev/null"),
                _ => panic!("{mask:?}"),
            }
        }
        for read_only in READ_ONLY.iter().map(|p| p.to_str().unwrap()) {
            let bind = at(steps, "bind", read_only);
            assert_eq!(steps[bind + 1].call, "read-only", "{read_only}");
            assert!(first_mask < bind);
        }
    }

    /// A plain `box run`: the old root is detached at once after
    /// pivot_root, before anything is made in the new root; /dev is the
    /// container's own, with nodes made by mknod; the root stays private.
    #[test]
    fn a_plain_run_switches_then_builds_dev_then_masks() {
        let (steps, rootfs) = record(&[]);
        check_common(&steps, &rootfs);
        assert!(
            steps[0]
                .propagation
                .contains(MountPropagationFlags::PRIVATE)
        );
        assert!(!steps[at(&steps, "nodev", &rootfs)].read_only);
        let pivot = at(&steps, "pivot_root", ".");
        assert_eq!(steps[pivot].from, ".");
        assert_eq!(steps[pivot - 1].call, "fchdir");
        assert_eq!(steps[pivot - 1].path, rootfs);
        let (detach, enter) = (&steps[pivot + 1], &steps[pivot + 2]);
        assert_eq!(
            (detach.call, &*detach.path, detach.recursive),
            ("umount", ".", true)
        );
        assert_eq!((enter.call, &*enter.path), ("chdir", "/"));
        let dev = at(&steps, "mount", "/dev");
        assert!(pivot + 2 < dev);
        for (node, dev) in [
            ("/dev/null", "1:3"),
            ("/dev/zero", "1:5"),
            ("/dev/tty", "5:0"),
        ] {
            assert_eq!(steps[at(&steps, "mknod", node)].from, dev);
        }
        assert!(!has(&steps, "attach") && !has(&steps, "open_tree"));
        at(&steps, "mount", "mqueue");
        assert_eq!(steps.iter().filter(|s| s.call == "propagation").count(), 1);
        assert!(!has(&steps, "chroot") && !has(&steps, "detach host mounts"));
    }

    /// `--read-only`: the mounts below the rootfs's top are made read-only
    /// in the same call that makes them all nodev, before /proc, /dev,
    /// binds or tmpfs are mounted in it: those keep their own flags. The
    /// top mount is made read-only once every mount point in it is made
    /// and every mount is in place (runc's order: a rootfs missing /proc,
    /// /dev or a target works), and nothing after that mounts or creates.
    #[test]
    fn read_only_covers_the_image_once_its_mount_points_are_made() {
        let (steps, rootfs) = record(&[
            ("read-only", ""),
            ("tmpfs", "/tmp"),
            ("bind", "/etc/hosts:/etc/hosts"),
        ]);
        check_common(&steps, &rootfs);
        let nodev = at(&steps, "nodev", &rootfs);
        let below = &steps[nodev];
        assert!(below.read_only && below.recursive && below.from == "below");
        let first_mount = steps.iter().position(|s| s.call == "mount").unwrap();
        assert!(nodev < first_mount);
        let root = |s: &Step| s.path == rootfs || s.path == "/";
        let top = steps
            .iter()
            .position(|s| root(s) && s.call == "read-only")
            .expect("the top made read-only");
        assert!(!steps[top].recursive, "box's own mounts keep their flags");
        for (i, step) in steps.iter().enumerate() {
            let makes = matches!(
                step.call,
                "mount" | "bind" | "attach" | "mount point" | "mkdir" | "mknod" | "symlink"
            );
            assert!(!makes || i < top, "{step:?} after the root is read-only");
        }
        assert!(at(&steps, "mount point", "/etc/hosts") < top);
        let tmpfs = at(&steps, "mount", "/tmp");
        assert!(!steps[tmpfs].flags.contains(MountFlags::RDONLY));
        let (steps, _) = record(&[]);
        assert!(!steps.iter().any(|s| s.call == "read-only" && root(s)));
    }

    /// Binds and tmpfs are made in the order given, whatever their kinds:
    /// a bind under a tmpfs given before it is made in that tmpfs (and
    /// stays visible), one given before the tmpfs is covered by it. Each
    /// mount point is made right before its own mount.
    #[test]
    fn binds_and_tmpfs_are_mounted_in_the_order_given() {
        let (steps, rootfs) = record(&[
            ("bind", "/etc/hosts:/run/early"),
            ("tmpfs", "/run"),
            ("bind", "/etc/passwd:/run/late"),
            ("bind", "/tmp:/data"),
            ("tmpfs", "/data/cache"),
            ("tmpfs", "/var/tmp"),
        ]);
        check_common(&steps, &rootfs);
        let order: Vec<(&str, &str)> = steps
            .iter()
            .filter(|s| match s.call {
                "attach" => true,
                "mount" => {
                    s.from == "tmpfs"
                        && s.path.starts_with('/')
                        && !s.path.starts_with("/dev")
                        && !s.path.starts_with("/proc")
                        && !s.path.starts_with("/sys")
                }
                _ => false,
            })
            .map(|s| (s.call, &*s.path))
            .collect();
        assert_eq!(
            order,
            [
                ("attach", "/run/early"),
                ("mount", "/run"),
                ("attach", "/run/late"),
                ("attach", "/data"),
                ("mount", "/data/cache"),
                ("mount", "/var/tmp"),
            ]
        );
        for target in ["/run/early", "/run", "/run/late", "/data", "/data/cache"] {
            let point = at(&steps, "mount point", target);
            let next = steps[point + 1].call;
            assert!(matches!(next, "attach" | "mount"), "{target}: {next}");
        }
        // The options' own order, not their kinds: all tmpfs first.
        let (steps, _) = record(&[("tmpfs", "/run"), ("tmpfs", "/x"), ("bind", "/tmp:/run/y")]);
        assert!(at(&steps, "mount", "/x") < at(&steps, "attach", "/run/y"));
    }

    /// `--bind` and `--tmpfs`: each host tree is cloned and made nodev
    /// (read-only with nodev for a read-only bind) before the switch, while
    /// its path is still the host's, and attached after /dev, made nodev
    /// again only where the first did not take; the tmpfs after the binds;
    /// masks last.
    #[test]
    fn binds_are_cloned_before_the_switch_and_attached_after_dev() {
        let options = [
            ("bind", "/tmp:/data"),
            ("bind", "/etc/passwd:/etc/passwd:ro"),
            ("tmpfs", "/run:size=1M"),
        ];
        for fails in [false, true] {
            let (steps, rootfs) = record_with(&options, fails);
            check_common(&steps, &rootfs);
            let switch = switch(&steps);
            let dev = steps.iter().rposition(|s| s.call == "symlink").unwrap();
            for (source, target, read_only) in [
                ("/tmp", "/data", false),
                ("/etc/passwd", "/etc/passwd", true),
            ] {
                let clone = at(&steps, "open_tree", source);
                assert_eq!(steps[clone + 1].call, "tree nodev");
                assert_eq!(steps[clone + 1].read_only, read_only);
                let attach = at(&steps, "attach", target);
                assert_eq!(steps[attach].from, source);
                assert!(clone < switch && dev < attach);
                let nodev = steps
                    .iter()
                    .filter(|s| s.call == "tree nodev" && s.path == source);
                assert_eq!(nodev.count(), 1 + usize::from(fails), "{fails}");
            }
            let tmpfs = at(&steps, "mount", "/run");
            assert_eq!(steps[tmpfs - 1].call, "mount point");
            assert!(at(&steps, "attach", "/etc/passwd") < tmpfs);
            assert!(tmpfs < at(&steps, "bind", "/proc/kcore"));
        }
    }

    /// OCI tmpcopyup: the covered directory is opened before the tmpfs
    /// goes over it, and the copy made after the mount, into the tmpfs
    /// reached again by its path; a tmpfs without it is not copied into.
    #[cfg(feature = "oci")]
    #[test]
    fn copy_up_opens_the_covered_directory_before_the_mount() {
        use crate::config::CopyUp;
        let mut config = testing::config(&[("tmpfs", "/run"), ("tmpfs", "/x")]);
        config.tmpfs[0].copy_up = CopyUp::ContentAndMode;
        let plan = testing::plan(&config).unwrap();
        let mut record = Recorder::default();
        build_with(&mut record, &plan).unwrap();
        let steps = record.steps;
        let open = at(&steps, "open covered", "/run");
        assert_eq!(steps[open - 1].call, "mount point");
        assert_eq!(steps[open + 1].call, "mount");
        assert_eq!(steps[open + 2].call, "mount point");
        let copy = &steps[open + 3];
        assert_eq!((copy.call, &*copy.path), ("copy up", "/run"));
        assert_eq!(copy.from, "/run ContentAndMode");
        let copies = steps
            .iter()
            .filter(|s| s.call.contains("cover") || s.call == "copy up");
        assert_eq!(copies.count(), 2, "{steps:#?}");
    }

    /// `--no-pivot`: the rootfs is moved over "/", the host's mounts are
    /// detached, then chroot, in that order and before /dev; pivot_root is
    /// never tried.
    #[test]
    fn no_pivot_moves_detaches_then_chroots() {
        let (steps, rootfs) = record(&[("no-pivot", "")]);
        check_common(&steps, &rootfs);
        assert!(!has(&steps, "pivot_root"));
        let moved = at(&steps, "move", "/");
        assert_eq!(steps[moved].from, ".");
        assert_eq!(steps[moved - 1].call, "fchdir");
        assert_eq!(steps[moved - 1].path, rootfs);
        let calls: Vec<&str> = steps[moved..moved + 4].iter().map(|s| s.call).collect();
        assert_eq!(calls, ["move", "detach host mounts", "chroot", "chdir"]);
        assert_eq!(steps[moved + 3].path, "/");
        assert!(moved + 3 < at(&steps, "mount", "/dev"));
    }

    /// A user namespace: no mknod (refused there); the host's device nodes
    /// are cloned before the switch and bound in after /dev is mounted.
    #[test]
    fn user_namespace_binds_the_host_nodes_instead_of_mknod() {
        let (steps, rootfs) = record(&[("ns", "mount,uts,ipc,pid,user")]);
        check_common(&steps, &rootfs);
        assert!(!has(&steps, "mknod"));
        let switch = switch(&steps);
        let dev = at(&steps, "mount", "/dev");
        for node in [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
        ] {
            assert!(at(&steps, "open_tree", node) < switch);
            assert!(dev < at(&steps, "attach", node));
        }
    }

    /// `--propagation`: slave is set first (the host's events still come
    /// in); shared and unbindable are set last, on the finished tree.
    #[test]
    fn propagation_asked_for() {
        let (steps, rootfs) = record(&[("propagation", "slave")]);
        check_common(&steps, &rootfs);
        assert!(
            steps[0]
                .propagation
                .contains(MountPropagationFlags::DOWNSTREAM)
        );
        for (mode, flag) in [
            ("shared", MountPropagationFlags::SHARED),
            ("unbindable", MountPropagationFlags::UNBINDABLE),
        ] {
            let (steps, rootfs) = record(&[("propagation", mode)]);
            check_common(&steps, &rootfs);
            let last = steps.last().unwrap();
            assert_eq!((last.call, &*last.path), ("propagation", "/"));
            assert!(last.propagation.contains(flag | MountPropagationFlags::REC));
        }
    }

    /// The old root 1 holds /tmp (2), which held the rootfs before the move;
    /// the new root (10) is now on 1, with its /proc (11) and a mask on it
    /// (12). The host's /proc (3) has binfmt_misc (4); a mount (6) is
    /// stacked on /mnt (5).
    #[test]
    fn only_mounts_on_the_old_root_are_detached_and_the_new_root_is_kept() {
        let tree = [
            (1, 1),
            (2, 1),
            (3, 1),
            (4, 3),
            (5, 1),
            (6, 5),
            (10, 1),
            (11, 10),
            (12, 11),
        ]
        .map(|(id, parent)| MountNode { id, parent });
        let fates: Vec<(u32, Fate)> = tree.iter().map(|&n| (n.id, fate(&tree, 10, n))).collect();
        assert_eq!(
            fates,
            [
                (1, Fate::Holds),
                (2, Fate::Detach),
                (3, Fate::Detach),
                (4, Fate::GoesWithParent),
                (5, Fate::Detach),
                (6, Fate::GoesWithParent),
                (10, Fate::Keep),
                (11, Fate::Keep),
                (12, Fate::Keep),
            ]
        );
        // Below the namespace's root (box in a chroot): 0 is not listed, and
        // a loop in the parent IDs ends the walk.
        let odd = [(1, 0), (10, 1), (7, 8), (8, 7)].map(|(id, parent)| MountNode { id, parent });
        assert_eq!(fate(&odd, 10, odd[0]), Fate::Holds);
        assert_eq!(fate(&odd, 10, odd[2]), Fate::GoesWithParent);
    }
}
