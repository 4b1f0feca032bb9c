//! Mount helpers for the container child: creating mount points, read-only
//! remounts that keep the flags the kernel locks, detached copies of host
//! trees (open_tree), and recognising the initramfs root.

use core::ffi::CStr;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MoveMountFlags, OpenTreeFlags};

use crate::sys::raw;
use crate::text::CPath;

/// What to create when a mount point is missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Create {
    Dir,
    /// An empty file, to bind a file onto.
    File,
}

/// `mkdir -p` for a mount point: create missing parents (mode 0755) and the
/// last component as a directory or an empty file. An existing path is left
/// as it is.
pub fn make_mount_point(path: &CStr, create: Create) -> Result<(), Errno> {
    match rustix::fs::stat(path) {
        Ok(_) => return Ok(()),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(e),
    }
    let bytes = path.to_bytes();
    let mut prefix = CPath::new();
    if bytes.starts_with(b"/") {
        prefix.push(b"/").ok_or(Errno::NAMETOOLONG)?;
    }
    let mut components = bytes
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .peekable();
    while let Some(name) = components.next() {
        if !matches!(prefix.as_bytes().last(), None | Some(b'/')) {
            prefix.push(b"/").ok_or(Errno::NAMETOOLONG)?;
        }
        prefix.push(name).ok_or(Errno::NAMETOOLONG)?;
        let last = components.peek().is_none();
        let made = if last && create == Create::File {
            rustix::fs::open(
                prefix.as_cstr(),
                OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o644),
            )
            .map(drop)
        } else {
            rustix::fs::mkdir(prefix.as_cstr(), Mode::from_raw_mode(0o755))
        };
        match made {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
        match raw::mount_setattr(
            None,
            path,
            true,
            u64::from(linux_raw_sys::general::MOUNT_ATTR_RDONLY),
        ) {
            Err(Errno::NOSYS) => {}
            other => return other,
        }
    }
    let flags = MountFlags::BIND | MountFlags::RDONLY | kept_flags(path);
    rustix::mount::mount_remount(path, flags, c"")
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

/// Make a detached tree read-only before attaching it (Linux 5.12+).
pub fn tree_read_only(tree: BorrowedFd<'_>) -> Result<(), Errno> {
    raw::mount_setattr(
        Some(tree),
        c"",
        true,
        u64::from(linux_raw_sys::general::MOUNT_ATTR_RDONLY),
    )
}

/// Attach a detached tree at `target`.
pub fn attach_tree(tree: impl AsFd, target: &CStr) -> Result<(), Errno> {
    rustix::mount::move_mount(
        tree.as_fd(),
        c"",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
}

/// Call `f` for each line of a mountinfo file, read with stack buffers
/// (lines longer than 1 KiB are skipped: no mount box cares about has one).
pub fn each_mountinfo_line(path: &CStr, f: &mut dyn FnMut(&[u8])) {
    let Ok(fd) = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return;
    };
    let mut buf = [0u8; 4096];
    let mut line = [0u8; 1024];
    let mut line_len = 0usize;
    let mut overlong = false;
    loop {
        let n = match rustix::io::read(&fd, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                if !overlong {
                    f(&line[..line_len]);
                }
                line_len = 0;
                overlong = false;
            } else if line_len < line.len() {
                line[line_len] = b;
                line_len += 1;
            } else {
                overlong = true;
            }
        }
    }
}

/// Call `f` with each mount point of a mountinfo file, in the file's order
/// (parents before children), octal escapes decoded.
pub fn each_mount_point(path: &CStr, f: &mut dyn FnMut(CPath)) {
    each_mountinfo_line(path, &mut |line| {
        let Some(field) = line.split(|&b| b == b' ').nth(4) else {
            return;
        };
        let mut point = CPath::new();
        let mut i = 0;
        while i < field.len() {
            let b = field[i];
            // \NNN with NNN at most 377: one byte.
            let octal = field
                .get(i + 1..i + 4)
                .filter(|d| d[0] <= b'3' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
            if let (b'\\', Some(d)) = (b, octal) {
                let v = (d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0');
                let _ = point.push(&[v]);
                i += 4;
            } else {
                let _ = point.push(&[b]);
                i += 1;
            }
        }
        f(point);
    });
}

/// Whether the process's root is the kernel's initramfs (the `rootfs`
/// filesystem), where pivot_root(2) fails with EINVAL: the last mount on
/// "/" in /proc/self/mountinfo is the one in use.
pub fn root_is_initramfs() -> bool {
    let mut answer = false;
    each_mountinfo_line(c"/proc/self/mountinfo", &mut |line| {
        if let Some(is_rootfs) = root_line_is_rootfs(line) {
            answer = is_rootfs;
        }
    });
    answer
}

/// For a mountinfo line whose mount point is "/": whether its filesystem
/// type is `rootfs`. `None` for other mount points.
fn root_line_is_rootfs(line: &[u8]) -> Option<bool> {
    let mut fields = line.split(|&b| b == b' ');
    let mount_point = fields.nth(4)?;
    if mount_point != b"/" {
        return None;
    }
    // Optional fields end at "-"; the filesystem type follows.
    let fstype = fields.skip_while(|f| *f != b"-").nth(1)?;
    Some(fstype == b"rootfs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_initramfs_root_line() {
        let initramfs = b"1 1 0:2 / / rw shared:1 - rootfs rootfs rw,size=1000k";
        let ext4 = b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw";
        let other = b"23 22 0:5 / /proc rw - proc proc rw";
        assert_eq!(root_line_is_rootfs(initramfs), Some(true));
        assert_eq!(root_line_is_rootfs(ext4), Some(false));
        assert_eq!(root_line_is_rootfs(other), None);
    }
}
