//! Mount helpers for the container child: creating mount points, read-only
//! remounts that keep the flags the kernel locks, detached copies of host
//! trees (open_tree).

use core::ffi::{CStr, c_long};

use linux_raw_sys::general as k;

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, ResolveFlags, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MoveMountFlags, OpenTreeFlags};

use super::check;
use crate::text::PATH_MAX;

/// What to create when a mount point is missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Create {
    Dir,
    /// An empty file, to bind a file onto.
    File,
}

/// One step of [`open_mount_point`]: `name` in `dir`, `O_PATH`, ordinary
/// symbolic links followed (a last one not with `nofollow`), /proc's magic
/// links refused (ELOOP). Before Linux 5.6 (no openat2), openat(2), which
/// follows them.
fn resolve(dir: BorrowedFd<'_>, name: &CStr, nofollow: bool) -> Result<OwnedFd, Errno> {
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if nofollow {
        flags |= OFlags::NOFOLLOW;
    }
    match rustix::fs::openat2(dir, name, flags, Mode::empty(), ResolveFlags::NO_MAGICLINKS) {
        Err(Errno::NOSYS) => rustix::fs::openat(dir, name, flags, Mode::empty()),
        other => other,
    }
}

/// The mount point at `path`, after the root switch, as an `O_PATH`
/// descriptor to mount onto: made where missing (directories 0755, the
/// last component as `create` says, a file 0644), one component at a time,
/// each reached without a /proc magic link (openat2 RESOLVE_NO_MAGICLINKS,
/// Linux 5.6): /proc/PID/root, /proc/PID/cwd or /proc/self/fd/N lead out
/// of the container's root (to the host's when the PID namespace is the
/// host's) while box still has every capability. An ordinary link is
/// followed, inside the root; a file's own last component is not (the file
/// is mounted over a link there, as over a file).
pub fn open_mount_point(path: &CStr, create: Create) -> Result<OwnedFd, Errno> {
    let file = create == Create::File;
    match resolve(rustix::fs::CWD, path, file) {
        Err(Errno::NOENT) => {}
        other => return other,
    }
    // A copy whose slashes are NULs, each component a C string of its own;
    // the first keeps a leading "/", and is found from the root.
    let bytes = path.to_bytes();
    let len = bytes.len();
    let mut buf = [0u8; PATH_MAX + 1];
    buf.get_mut(..len)
        .ok_or(Errno::NAMETOOLONG)?
        .copy_from_slice(bytes);
    for b in buf.iter_mut().take(len).skip(1) {
        if *b == b'/' {
            *b = 0;
        }
    }
    let mut dir: Option<OwnedFd> = None;
    let mut at = 0;
    while at < len {
        let name = CStr::from_bytes_until_nul(&buf[at..]).map_err(|_| Errno::INVAL)?;
        at += name.to_bytes().len() + 1;
        if name.is_empty() {
            continue;
        }
        let parent = dir.as_ref().map_or(rustix::fs::CWD, AsFd::as_fd);
        let last = at >= len;
        let made = if last && file {
            rustix::fs::openat(
                parent,
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o644),
            )
            .map(drop)
        } else {
            rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o755))
        };
        match made {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
        dir = Some(resolve(parent, name, last && file)?);
    }
    dir.ok_or(Errno::NOENT)
}

/// Flags a read-only remount must repeat: in a user namespace the kernel
/// locks nosuid, nodev, noexec and the atime flags of mounts it inherited,
/// and a remount that drops them fails with EPERM.
fn kept_flags(path: &CStr) -> MountFlags {
    let Ok(vfs) = rustix::fs::statvfs(path) else {
        return MountFlags::empty();
    };
    let f = vfs.f_flag;
    let mut flags = MountFlags::empty();
    for (st, ms) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ] {
        if f.contains(st) {
            flags |= ms;
        }
    }
    flags
}

/// Make the mount at `path` read-only, keeping its other flags. With
/// `recursive`, every mount below it too (mount_setattr, Linux 5.12+; older
/// kernels get the top mount only).
pub fn make_read_only(path: &CStr, recursive: bool) -> Result<(), Errno> {
    if recursive {
        match mount_setattr(
            None,
            path,
            true,
            u64::from(linux_raw_sys::general::MOUNT_ATTR_RDONLY),
            0,
        ) {
            Err(Errno::NOSYS) => {}
            other => return other,
        }
    }
    let flags = MountFlags::BIND | MountFlags::RDONLY | kept_flags(path);
    rustix::mount::mount_remount(path, flags, c"")
}

/// Make the mount at `path` nodev (device nodes on it do not open), and
/// read-only too with `read_only`, keeping its other flags. With
/// `recursive`, every mount below it too (mount_setattr, Linux 5.12+;
/// older kernels get the top mount only).
pub fn make_nodev(path: &CStr, recursive: bool, read_only: bool) -> Result<(), Errno> {
    let mut attrs = linux_raw_sys::general::MOUNT_ATTR_NODEV;
    if read_only {
        attrs |= linux_raw_sys::general::MOUNT_ATTR_RDONLY;
    }
    match mount_setattr(None, path, recursive, u64::from(attrs), 0) {
        Err(Errno::NOSYS) => {}
        other => return other,
    }
    // A bind remount sets every per-mount flag at once: keep read-only
    // where the mount already is.
    let already_read_only =
        rustix::fs::statvfs(path).is_ok_and(|vfs| vfs.f_flag.contains(StatVfsMountFlags::RDONLY));
    let mut flags = MountFlags::BIND | MountFlags::NODEV | kept_flags(path);
    if read_only || already_read_only {
        flags |= MountFlags::RDONLY;
    }
    rustix::mount::mount_remount(path, flags, c"")
}

/// Make a detached tree nodev, and read-only with `read_only`, before
/// attaching it (Linux 5.12+).
pub fn tree_nodev(tree: BorrowedFd<'_>, read_only: bool) -> Result<(), Errno> {
    let mut attrs = linux_raw_sys::general::MOUNT_ATTR_NODEV;
    if read_only {
        attrs |= linux_raw_sys::general::MOUNT_ATTR_RDONLY;
    }
    mount_setattr(Some(tree), c"", true, u64::from(attrs), 0)
}

/// nodev on the mount at `path` and every mount below it, and read-only
/// on those below it but not on the top one, which stays as it was: its
/// mount points are made after this, and it is made read-only after them
/// ([`make_read_only`]). Before Linux 5.12 (no mount_setattr), nodev on
/// the top mount alone.
pub fn make_nodev_read_only_below(path: &CStr) -> Result<(), Errno> {
    let was_read_only =
        rustix::fs::statvfs(path).is_ok_and(|vfs| vfs.f_flag.contains(StatVfsMountFlags::RDONLY));
    let rdonly = u64::from(k::MOUNT_ATTR_RDONLY);
    match mount_setattr(None, path, true, u64::from(k::MOUNT_ATTR_NODEV) | rdonly, 0) {
        Err(Errno::NOSYS) => make_nodev(path, false, false),
        Ok(()) if !was_read_only => mount_setattr(None, path, false, 0, rdonly),
        other => other,
    }
}

/// A detached copy of the host tree at `source` (open_tree with
/// OPEN_TREE_CLONE, Linux 5.2+), to be attached inside the container after
/// the root switch, when the host path is out of reach.
pub fn clone_tree(source: &CStr) -> Result<OwnedFd, Errno> {
    rustix::mount::open_tree(
        rustix::fs::CWD,
        source,
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )
}

/// Attach a detached tree onto the mount point `target` opened by
/// [`open_mount_point`].
pub fn attach_tree(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<(), Errno> {
    rustix::mount::move_mount(
        tree,
        c"",
        target,
        c"",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
}

/// Mount a fresh filesystem of type `fs` on the directory `dir` opened by
/// [`open_mount_point`]: from inside it, as ".", then back to "/".
pub fn mount_on(
    fs: &CStr,
    dir: BorrowedFd<'_>,
    flags: MountFlags,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    rustix::process::fchdir(dir)?;
    let mounted = rustix::mount::mount(fs, c".", fs, flags, data);
    rustix::process::chdir(c"/")?;
    mounted
}

/// `mount_setattr(2)` (5.12+): set mount attributes (MOUNT_ATTR_RDONLY for
/// `--read-only`) on the mount at `dirfd`/`path`, with `recursive` on the
/// whole subtree at once, and clear those of `attr_clr`. An empty `path`
/// means `dirfd` itself.
fn mount_setattr(
    dirfd: Option<BorrowedFd<'_>>,
    path: &CStr,
    recursive: bool,
    attr_set: u64,
    attr_clr: u64,
) -> Result<(), Errno> {
    let attr = k::mount_attr {
        attr_set,
        attr_clr,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = k::AT_NO_AUTOMOUNT;
    if recursive {
        flags |= k::AT_RECURSIVE;
    }
    if path.is_empty() {
        flags |= k::AT_EMPTY_PATH;
    }
    let fd = dirfd.map_or(k::AT_FDCWD, |fd| fd.as_raw_fd());
    // SAFETY: `path` is a valid C string, `fd` is AT_FDCWD or a descriptor
    // borrowed for the call, `attr` is a valid mount_attr whose size is
    // passed alongside.
    check(unsafe {
        libc::syscall(
            k::__NR_mount_setattr as c_long,
            fd as c_long,
            path.as_ptr(),
            flags as c_long,
            &raw const attr,
            core::mem::size_of::<k::mount_attr>(),
        )
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    use std::os::unix::io::AsRawFd as _;
    use std::path::Path;

    fn c(path: &Path) -> CString {
        CString::new(path.as_os_str().as_bytes()).unwrap()
    }

    /// Missing components are made through ordinary links (relative and
    /// absolute), a file's own last component is not followed, and a path
    /// through /proc/self/root or /proc/self/fd/N is refused with ELOOP,
    /// nothing made where it leads.
    #[test]
    fn mount_points_go_through_ordinary_links_only() {
        let dir = std::env::temp_dir().join(format!("box-mount-point-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let real = dir.join("real");
        std::fs::create_dir_all(&real).unwrap();
        symlink("real", dir.join("rel")).unwrap();
        symlink(&real, dir.join("abs")).unwrap();
        symlink("nowhere", real.join("dangling")).unwrap();
        let magic = format!("/proc/self/root{}", real.display());
        symlink(&magic, dir.join("magic")).unwrap();

        assert!(open_mount_point(&c(&dir.join("rel/a//b")), Create::Dir).is_ok());
        assert!(real.join("a/b").is_dir());
        assert!(open_mount_point(&c(&dir.join("abs/a/f")), Create::File).is_ok());
        assert!(real.join("a/f").is_file());
        let link = open_mount_point(&c(&dir.join("rel/dangling")), Create::File).unwrap();
        let kind = rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(&link).unwrap().st_mode);
        assert_eq!(kind, rustix::fs::FileType::Symlink);
        assert!(!real.join("nowhere").exists());

        let held = std::fs::File::open(&real).unwrap();
        let fd = format!("/proc/self/fd/{}", held.as_raw_fd());
        for path in [dir.join("magic/x/y"), Path::new(&fd).join("x")] {
            for create in [Create::Dir, Create::File] {
                let made = open_mount_point(&c(&path), create).map(drop);
                assert_eq!(made, Err(Errno::LOOP), "{path:?}");
            }
        }
        assert!(!real.join("x").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
