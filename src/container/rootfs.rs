//! The container's filesystem view, built by the child in its new mount
//! namespace: cut propagation to the host, make the rootfs a mount, fresh
//! kernel filesystems, switch the root (pivot_root, or move-and-chroot on the
//! initramfs), then /dev, binds, tmpfs and the masked /proc paths.
//!
//! Each step says why it is there and why at that point; the tables say
//! what is mounted and why.

use core::ffi::CStr;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use crate::config::{MAX_BINDS, Propagation};
use crate::container::plan::Plan;
use crate::error::{Context, Error, Result};
use crate::sys::mount::{self as m, Create};
use crate::text::CPath;

use linux_raw_sys::general as k;

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
        flags: MountFlags::NOSUID
            .union(MountFlags::NODEV)
            .union(MountFlags::NOEXEC),
        data: None,
    },
    // sysfs, read-only: devices and kernel tunables are the host's.
    FreshMount {
        target: c"sys",
        fstype: c"sysfs",
        flags: MountFlags::RDONLY
            .union(MountFlags::NOSUID)
            .union(MountFlags::NODEV)
            .union(MountFlags::NOEXEC),
        data: None,
    },
];

/// /dev: a small tmpfs of the container's own instead of the host's devtmpfs,
/// so the container sees only the devices listed in [`DEVICES`].
const DEV_MOUNTS: &[FreshMount] = &[
    FreshMount {
        target: c"/dev",
        fstype: c"tmpfs",
        flags: MountFlags::NOSUID.union(MountFlags::STRICTATIME),
        data: Some(c"mode=755,size=64k"),
    },
    // A private devpts instance: the container's terminals are its own, and
    // /dev/ptmx (a link to pts/ptmx) opens them.
    FreshMount {
        target: c"/dev/pts",
        fstype: c"devpts",
        flags: MountFlags::NOSUID.union(MountFlags::NOEXEC),
        data: Some(c"newinstance,ptmxmode=0666,mode=0620"),
    },
    // POSIX shared memory.
    FreshMount {
        target: c"/dev/shm",
        fstype: c"tmpfs",
        flags: MountFlags::NOSUID
            .union(MountFlags::NODEV)
            .union(MountFlags::NOEXEC),
        data: Some(c"mode=1777,size=65536k"),
    },
];

/// Device nodes of a container (the set Docker gives): character devices
/// that are harmless to share. `tty` opens the controlling terminal, if any.
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
pub struct HostTrees {
    /// One per `--bind`, in order; `None` where the bind was already made
    /// (kernels without open_tree).
    binds: heapless::Vec<Option<OwnedFd>, MAX_BINDS>,
    /// Host device nodes, for user namespaces, where mknod is not allowed.
    devices: heapless::Vec<OwnedFd, 6>,
}

/// Build the container's filesystem and switch into it.
pub fn build(plan: &Plan) -> Result<()> {
    let config = plan.config;
    let rootfs = plan.rootfs.as_cstr();
    let in_userns = plan.clone_namespaces.has(k::CLONE_NEWUSER);

    // 1. Cut propagation. clone(CLONE_NEWNS) copied the host's mounts with
    //    their propagation; on systemd hosts they are shared, so every mount
    //    below would appear on the host too, and pivot_root(2) refuses a
    //    shared new root or parent (EINVAL). A slave still receives the
    //    host's mount events but sends none back (mount_namespaces(7)).
    let propagation = match config.propagation {
        Propagation::Slave => MountPropagationFlags::DOWNSTREAM,
        _ => MountPropagationFlags::PRIVATE,
    };
    rustix::mount::mount_change(c"/", propagation | MountPropagationFlags::REC)
        .at("make the mounts private", "mount", b"/")
        .map_err(|e| {
            if e.errno() == Some(Errno::INVAL) {
                e.hint("/ is not a mount point: is box running inside a chroot?")
            } else {
                e
            }
        })?;

    // 2. Bind the rootfs onto itself. pivot_root(2) needs the new root to be
    //    a mount point, and the container gets a mount of its own to make
    //    read-only without touching the host's. Recursive: mounts the host
    //    has inside the rootfs come along.
    rustix::mount::mount_bind_recursive(rootfs, rootfs).at(
        "bind the rootfs",
        "mount",
        plan.rootfs.as_bytes(),
    )?;
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at("open the rootfs", "open", plan.rootfs.as_bytes())?;

    // 3. --read-only now, before anything is mounted inside: only the image
    //    (and mounts that came with it) becomes read-only; /proc, /dev, binds
    //    and tmpfs keep their own flags.
    if config.read_only {
        m::make_read_only(rootfs, true).at(
            "make the rootfs read-only",
            "mount_setattr",
            plan.rootfs.as_bytes(),
        )?;
    }

    // 4. Kernel filesystems, while the host's are still visible (see
    //    KERNEL_MOUNTS).
    for fresh in KERNEL_MOUNTS {
        mount_kernel_fs(&root, plan, fresh, in_userns)?;
    }

    // 5. Host paths for --bind (and device nodes in a user namespace) are
    //    out of reach after the switch: clone them now as detached trees.
    let trees = clone_host_trees(plan, in_userns)?;

    // 6. Switch the root.
    switch_root(&root, plan)?;
    drop(root);

    // 7. /dev, then what the user asked for, then the masks (which need
    //    /dev/null and cover whatever a bind may have brought).
    setup_dev(plan, &trees)?;
    attach_binds(plan, trees)?;
    for tmpfs in &config.tmpfs {
        let target = tmpfs.target.as_cstr();
        m::make_mount_point(target, Create::Dir).at(
            "create the --tmpfs mount point",
            "mkdir",
            tmpfs.target.as_bytes(),
        )?;
        let mut data = CPath::from_bytes(tmpfs.options.as_bytes()).unwrap_or_default();
        if data.is_empty() {
            let _ = data.push(b"mode=1777");
        }
        rustix::mount::mount(
            c"tmpfs",
            target,
            c"tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            data.as_cstr(),
        )
        .at("mount --tmpfs", "mount", tmpfs.target.as_bytes())?;
    }
    mask_proc_and_sys()?;

    // 8. Propagation asked for after the switch, once every mount is in
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
        rustix::mount::mount_change(c"/", flags | MountPropagationFlags::REC).at(
            "set the root's propagation",
            "mount",
            b"/",
        )?;
    }
    Ok(())
}

fn mount_kernel_fs(root: &OwnedFd, plan: &Plan, fresh: &FreshMount, in_userns: bool) -> Result<()> {
    let name = fresh.target;
    let step = if name == c"proc" {
        "mount /proc"
    } else {
        "mount /sys"
    };
    // One component, opened without following a symlink: an image cannot
    // redirect this mount onto the host. fchdir + "." then names exactly
    // that directory, with no need for the host's /proc.
    let dir = match rustix::fs::openat(
        root,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Err(Errno::NOENT) => {
            rustix::fs::mkdirat(root, name, Mode::from_raw_mode(0o555)).at(
                step,
                "mkdir",
                path_in(plan, name).as_bytes(),
            )?;
            rustix::fs::openat(
                root,
                name,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
        }
        other => other,
    }
    .at(step, "open", path_in(plan, name).as_bytes())?;
    rustix::process::fchdir(&dir).at(step, "chdir", path_in(plan, name).as_bytes())?;
    let mounted = rustix::mount::mount(fresh.fstype, c".", fresh.fstype, fresh.flags, fresh.data);
    // Back to the rootfs: "." still names the directory under the new mount,
    // while `name` from the rootfs now leads into it.
    rustix::process::fchdir(root).at(step, "chdir", plan.rootfs.as_bytes())?;
    match mounted {
        // sysfs in a user namespace without a network namespace of its own
        // is refused (EPERM): give it the host's, read-only.
        Err(Errno::PERM) if name == c"sys" && in_userns => {
            rustix::mount::mount_bind_recursive(c"/sys", name).at(step, "mount", b"/sys")?;
            m::make_read_only(name, true).at(step, "mount_setattr", path_in(plan, name).as_bytes())
        }
        Err(Errno::PERM) if in_userns => Err(Error::sys(step, "mount", path_in(plan, name).as_bytes(), Errno::PERM)
            .hint("the host's /proc has mounts over parts of it, so the kernel refuses a new one in a user namespace")),
        other => other.at(step, "mount", path_in(plan, name).as_bytes()),
    }
}

/// `ROOTFS/NAME` for messages.
fn path_in(plan: &Plan, name: &CStr) -> CPath {
    CPath::from_parts(&[plan.rootfs.as_bytes(), b"/", name.to_bytes()]).unwrap_or(plan.rootfs)
}

fn clone_host_trees(plan: &Plan, in_userns: bool) -> Result<HostTrees> {
    let mut trees = HostTrees {
        binds: heapless::Vec::new(),
        devices: heapless::Vec::new(),
    };
    let mut have_open_tree = true;
    for bind in &plan.config.binds {
        let source = bind.source.as_cstr();
        if have_open_tree {
            match m::clone_tree(source) {
                Ok(tree) => {
                    if bind.read_only {
                        // Best effort here (5.12+); attach_binds remounts
                        // the top read-only in every case.
                        let _ = m::tree_read_only(tree.as_fd());
                    }
                    let _ = trees.binds.push(Some(tree));
                    continue;
                }
                Err(Errno::NOSYS) => have_open_tree = false,
                Err(e) => return Err(Error::sys("bind", "open_tree", bind.source.as_bytes(), e)),
            }
        }
        // Before Linux 5.2 there is no open_tree: bind into the rootfs now,
        // through the path. (Without openat2 either, a symlink planted in
        // the image could redirect this; see the README.)
        let target = CPath::from_parts(&[plan.rootfs.as_bytes(), bind.target.as_bytes()])
            .ok_or_else(|| crate::bad!("--bind {}: path too long", bind.target))?;
        let create = create_for(source)?;
        m::make_mount_point(target.as_cstr(), create).at(
            "create the --bind mount point",
            "mkdir",
            target.as_bytes(),
        )?;
        rustix::mount::mount_bind_recursive(source, target.as_cstr()).at(
            "bind",
            "mount",
            bind.source.as_bytes(),
        )?;
        let _ = trees.binds.push(None);
    }
    if in_userns {
        for (path, _, _) in DEVICES {
            let tree = m::clone_tree(path).at(
                "bind the host's device nodes",
                "open_tree",
                path.to_bytes(),
            )?;
            let _ = trees.devices.push(tree);
        }
    }
    Ok(trees)
}

/// A mount point of the same kind as the source: a directory for a
/// directory, an empty file for anything else.
fn create_for(source: &CStr) -> Result<Create> {
    let st = rustix::fs::stat(source).at("bind", "stat", source.to_bytes())?;
    Ok(
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            Create::Dir
        } else {
            Create::File
        },
    )
}

fn switch_root(root: &OwnedFd, plan: &Plan) -> Result<()> {
    rustix::process::fchdir(root).at("enter the rootfs", "chdir", plan.rootfs.as_bytes())?;
    if !plan.config.no_pivot {
        // pivot_root(".", "."): the old root ends up stacked on the new one
        // and is detached right away, with everything under it, so nothing
        // of the host stays reachable (pivot_root(2), NOTES). It is private
        // (step 1), so the detach does not propagate to the host.
        match rustix::process::pivot_root(c".", c".") {
            Ok(()) => {
                rustix::mount::unmount(c".", UnmountFlags::DETACH).at(
                    "detach the old root",
                    "umount2",
                    b"/",
                )?;
                return rustix::process::chdir(c"/").at("enter the new root", "chdir", b"/");
            }
            Err(Errno::INVAL) if crate::mountinfo::root_is_initramfs() => {}
            Err(Errno::INVAL) => {
                return Err(Error::sys("switch into the rootfs", "pivot_root", plan.rootfs.as_bytes(), Errno::INVAL)
                    .hint("the current root is not a mount point (box inside a chroot?) or a parent mount is shared; --no-pivot uses move-and-chroot"));
            }
            Err(e) => {
                return Err(Error::sys(
                    "switch into the rootfs",
                    "pivot_root",
                    plan.rootfs.as_bytes(),
                    e,
                ));
            }
        }
    }
    move_and_chroot(plan)
}

/// The initramfs cannot be pivoted away (it is the root of the mount tree and
/// can never be unmounted; pivot_root(2) says EINVAL until Linux 7.0 puts
/// nullfs under it). Do what switch_root(8) does, in our own namespace: move
/// the new root over "/" and chroot into it. The initramfs stays underneath,
/// out of reach: the container has no CAP_SYS_ADMIN to unmount what covers
/// it, and ".." from the new root's top lands on the mount covering "/",
/// which is the new root again, so a chroot escape goes nowhere.
fn move_and_chroot(plan: &Plan) -> Result<()> {
    // First hide the host's full /proc and /sys. Left mounted below, they
    // would let a process in a user namespace mount a fresh procfs or sysfs
    // (the kernel only checks that a fully visible one exists).
    for path in [c"/proc", c"/sys"] {
        match rustix::mount::unmount(path, UnmountFlags::DETACH) {
            Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
            Err(e) => {
                return Err(Error::sys(
                    "hide the host's kernel filesystems",
                    "umount2",
                    path.to_bytes(),
                    e,
                ));
            }
        }
    }
    rustix::mount::mount_move(c".", c"/").at(
        "move the rootfs over /",
        "mount",
        plan.rootfs.as_bytes(),
    )?;
    rustix::process::chroot(c".").at("chroot into the rootfs", "chroot", plan.rootfs.as_bytes())?;
    rustix::process::chdir(c"/").at("enter the new root", "chdir", b"/")
}

fn setup_dev(plan: &Plan, trees: &HostTrees) -> Result<()> {
    for fresh in DEV_MOUNTS {
        m::make_mount_point(fresh.target, Create::Dir).at(
            "create /dev",
            "mkdir",
            fresh.target.to_bytes(),
        )?;
        rustix::mount::mount(
            fresh.fstype,
            fresh.target,
            fresh.fstype,
            fresh.flags,
            fresh.data,
        )
        .at("mount /dev", "mount", fresh.target.to_bytes())?;
    }
    // mqueue shows the message queues of the IPC namespace of whoever
    // mounts it, so it belongs only with a new IPC namespace.
    if plan.clone_namespaces.has(k::CLONE_NEWIPC) {
        m::make_mount_point(c"/dev/mqueue", Create::Dir).at(
            "create /dev/mqueue",
            "mkdir",
            b"/dev/mqueue",
        )?;
        rustix::mount::mount(
            c"mqueue",
            c"/dev/mqueue",
            c"mqueue",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            None,
        )
        .at("mount /dev/mqueue", "mount", b"/dev/mqueue")?;
    }
    if trees.devices.is_empty() {
        // mknod applies the umask; the nodes must be 0666 whatever the
        // caller's umask, which the command inherits unchanged afterwards.
        let umask = rustix::process::umask(Mode::empty());
        for &(path, major, minor) in DEVICES {
            let dev = rustix::fs::makedev(major, minor);
            let made = rustix::fs::mknodat(
                rustix::fs::CWD,
                path,
                FileType::CharacterDevice,
                Mode::from_raw_mode(0o666),
                dev,
            );
            if let Err(e) = made {
                rustix::process::umask(umask);
                return Err(Error::sys(
                    "create device nodes",
                    "mknod",
                    path.to_bytes(),
                    e,
                ));
            }
        }
        rustix::process::umask(umask);
    } else {
        // In a user namespace mknod is refused: bind the host's nodes.
        for (&(path, _, _), tree) in DEVICES.iter().zip(trees.devices.iter()) {
            m::make_mount_point(path, Create::File).at(
                "create device nodes",
                "open",
                path.to_bytes(),
            )?;
            m::attach_tree(tree, path).at("bind device nodes", "move_mount", path.to_bytes())?;
        }
    }
    for &(link, target) in DEV_LINKS {
        rustix::fs::symlink(target, link).at("create /dev links", "symlink", link.to_bytes())?;
    }
    Ok(())
}

fn attach_binds(plan: &Plan, trees: HostTrees) -> Result<()> {
    for (bind, tree) in plan.config.binds.iter().zip(trees.binds) {
        let target = bind.target.as_cstr();
        if let Some(tree) = tree {
            let create = if rustix::fs::fstat(&tree)
                .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
            {
                Create::Dir
            } else {
                Create::File
            };
            m::make_mount_point(target, create).at(
                "create the --bind mount point",
                "mkdir",
                bind.target.as_bytes(),
            )?;
            m::attach_tree(&tree, target).at("bind", "move_mount", bind.target.as_bytes())?;
        }
        if bind.read_only {
            m::make_read_only(target, true).at(
                "make a bind read-only",
                "mount",
                bind.target.as_bytes(),
            )?;
        }
    }
    Ok(())
}

fn mask_proc_and_sys() -> Result<()> {
    for &path in MASKED {
        let st = match rustix::fs::stat(path) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => {
                return Err(Error::sys(
                    "mask /proc and /sys paths",
                    "stat",
                    path.to_bytes(),
                    e,
                ));
            }
        };
        let masked = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            rustix::mount::mount(
                c"tmpfs",
                path,
                c"tmpfs",
                MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                c"size=0",
            )
        } else {
            rustix::mount::mount_bind(c"/dev/null", path)
        };
        masked.at("mask /proc and /sys paths", "mount", path.to_bytes())?;
    }
    for &path in READ_ONLY {
        match rustix::mount::mount_bind_recursive(path, path) {
            Ok(()) => {}
            Err(Errno::NOENT) => continue,
            Err(e) => {
                return Err(Error::sys(
                    "make /proc paths read-only",
                    "mount",
                    path.to_bytes(),
                    e,
                ));
            }
        }
        m::make_read_only(path, false).at(
            "make /proc paths read-only",
            "mount",
            path.to_bytes(),
        )?;
    }
    Ok(())
}
