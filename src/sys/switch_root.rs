//! Leaving the initramfs for the real root: the sequence behind the
//! `switch_root` applet and box-init's `box.switch_root=`, below both.
//!
//! With the checks users expect (PID 1 only; NEW_ROOT a mount point on
//! another filesystem; the old root ramfs or tmpfs, so deleting its files
//! frees memory and touches nothing else), and what busybox's forgets:
//! /dev, /proc, /sys and /run are moved into the new root (not left behind
//! under a deleted tree), and the console is reopened from the new /dev.

use core::ffi::CStr;
use core::mem::MaybeUninit;

use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::UnmountFlags;
use rustix::process::Pid;

use crate::bad;
use crate::error::{Context, Error, Result};
use crate::sys::exec::{Argv, Envp};
use crate::sys::fd::StdFd;
use crate::text::{Bytes, CPath};

/// Kernel filesystems carried into the new root.
const MOVED: &[&CStr] = &[c"/dev", c"/proc", c"/sys", c"/run"];

/// Switch to `new_root` and exec `init` with `argv` (its first word is
/// init's name). Returns only on failure. Used by the applet
/// and by box-init's `box.switch_root=`.
pub fn switch_into(
    new_root: &CStr,
    console: Option<&CStr>,
    init: &CStr,
    argv: Argv<'_>,
    envp: Envp<'_>,
) -> Result<core::convert::Infallible> {
    let root_bytes = new_root.to_bytes();
    if rustix::process::getpid() != Pid::INIT {
        return Err(bad!(
            "must run as PID 1 (this is PID {}): it replaces the initramfs's init",
            rustix::process::getpid().as_raw_nonzero()
        ));
    }
    let new = rustix::fs::stat(new_root).at(packed!("check NEW_ROOT"), "stat", root_bytes)?;
    if FileType::from_raw_mode(new.st_mode) != FileType::Directory {
        return Err(bad!("{}: not a directory", Bytes(root_bytes)));
    }
    let parent =
        CPath::from_parts(&[root_bytes, b"/.."]).ok_or_else(|| bad!("NEW_ROOT path too long"))?;
    let above = rustix::fs::stat(parent.as_cstr()).at(
        packed!("check NEW_ROOT"),
        "stat",
        parent.as_bytes(),
    )?;
    let old = rustix::fs::stat(c"/").at(packed!("check the current root"), "stat", b"/")?;
    if new.st_dev == above.st_dev || new.st_dev == old.st_dev {
        return Err(bad!(
            "{}: not a mount point on another filesystem (mount the real root there first)",
            Bytes(root_bytes)
        ));
    }
    let fs = rustix::fs::statfs(c"/").at(packed!("check the current root"), "statfs", b"/")?;
    let magic = fs.f_type as u32;
    if magic != linux_raw_sys::general::RAMFS_MAGIC && magic != linux_raw_sys::general::TMPFS_MAGIC
    {
        return Err(bad!(
            "the current root is not an initramfs (ramfs or tmpfs): refusing to delete its files"
        ));
    }
    check_init(new_root, init)
        .at(packed!("check NEW_INIT"), "openat2", init.to_bytes())
        .map_err(|e| e.hint(packed!("NEW_INIT is looked up inside NEW_ROOT")))?;

    // 1. The kernel filesystems go along (busybox's leaves them under the
    //    old root, where the new init cannot use them).
    for &path in MOVED {
        let target = CPath::from_parts(&[root_bytes, path.to_bytes()])
            .ok_or_else(|| bad!("path too long"))?;
        let is_mounted = rustix::fs::stat(path).is_ok_and(|st| st.st_dev != old.st_dev);
        if !is_mounted || rustix::fs::stat(target.as_cstr()).is_err() {
            continue;
        }
        if rustix::mount::mount_move(path, target.as_cstr()).is_err() {
            // Cannot move (e.g. shared parent): at least do not leave it
            // mounted over a tree that is about to be deleted.
            let _ = rustix::mount::unmount(path, UnmountFlags::DETACH);
        }
    }

    // 2. Free the initramfs: delete its files, never crossing into another
    //    filesystem (the new root, anything still mounted).
    let root_dir = rustix::fs::open(
        c"/",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(packed!("free the initramfs"), "open", b"/")?;
    remove_contents(root_dir.as_fd(), old.st_dev, 0);
    drop(root_dir);

    // 3. The new root over "/", then chroot into it (pivot_root cannot move
    //    the initramfs; this is the sequence the kernel documents).
    rustix::process::chdir(new_root).at(packed!("enter NEW_ROOT"), "chdir", root_bytes)?;
    rustix::mount::mount_move(c".", c"/").at(
        packed!("move NEW_ROOT over /"),
        "mount",
        root_bytes,
    )?;
    rustix::process::chroot(c".").at(packed!("make NEW_ROOT the root"), "chroot", root_bytes)?;
    rustix::process::chdir(c"/").at(packed!("make NEW_ROOT the root"), "chdir", b"/")?;

    // 4. Standard descriptors on the new root's console.
    let console = console.unwrap_or(c"/dev/console");
    if let Ok(fd) = rustix::fs::open(console, OFlags::RDWR | OFlags::NOCTTY, Mode::empty()) {
        for target in StdFd::ALL {
            let _ = crate::sys::fd::dup_onto(fd.as_fd(), target);
        }
    }

    // 5. The new init, as PID 1.
    let errno = crate::sys::exec::execve(init, argv, envp);
    Err(Error::sys(
        packed!("start NEW_INIT"),
        "execve",
        init.to_bytes(),
        errno,
    ))
}

/// Whether `init` is an executable file inside `new_root`, its links
/// resolved as they will be once `new_root` is "/" (an absolute link such
/// as /sbin/init -> /bin/box must not be followed into the initramfs).
/// openat2's RESOLVE_IN_ROOT (Linux 5.6; before it, nothing is checked).
pub fn check_init(new_root: &CStr, init: &CStr) -> core::result::Result<(), Errno> {
    let root = rustix::fs::open(
        new_root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let inside = init.to_bytes().trim_ascii_start();
    let relative =
        CPath::from_bytes(inside.strip_prefix(b"/").unwrap_or(inside)).ok_or(Errno::NAMETOOLONG)?;
    let file = match rustix::fs::openat2(
        &root,
        relative.as_cstr(),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        rustix::fs::ResolveFlags::IN_ROOT,
    ) {
        Ok(file) => file,
        // Before Linux 5.6 the check is left to execve.
        Err(Errno::NOSYS) => return Ok(()),
        Err(e) => return Err(e),
    };
    let st = rustix::fs::fstat(&file)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_mode & 0o111 == 0 {
        return Err(Errno::ACCESS);
    }
    Ok(())
}

/// Delete everything under `dir` that is on filesystem `dev`.
fn remove_contents(dir: BorrowedFd<'_>, dev: u64, depth: u32) {
    if depth > 64 {
        return;
    }
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    // Deleting while reading may skip entries: go over the directory until
    // a pass removes nothing.
    loop {
        let mut removed = false;
        let mut entries = rustix::fs::RawDir::new(dir, &mut buf);
        while let Some(Ok(entry)) = entries.next() {
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            if st.st_dev != dev {
                continue;
            }
            let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
            if is_dir {
                if let Ok(sub) = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    remove_contents(sub.as_fd(), dev, depth + 1);
                }
                removed |= rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).is_ok();
            } else {
                removed |= rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok();
            }
        }
        if !removed {
            return;
        }
    }
}
