//! box's own executable, kept out of the containers' reach.
//!
//! Every process box creates in a container or moves into one runs box's
//! code until it executes the command: the `box run` child, `box exec`'s
//! child, box-init under `--init`, the containers of box-init on a board,
//! nsenter's child. Until then its /proc/PID/exe names the file box runs
//! from, and every execve it makes resolves /proc/self/exe to that file:
//! `box run -- /proc/self/exe`, a `#!/proc/self/exe` script or an ELF whose
//! interpreter is /proc/self/exe all run box inside the container, where
//! any process may open it through /proc/PID/exe (O_PATH), wait until
//! nothing executes it and reopen it for writing through /proc/self/fd.
//! Root of a default container is root of the host: were that file the
//! host's box, the next `box` anyone runs would be the container's
//! (CVE-2019-5736, the same hole in runc).
//!
//! So box re-executes itself, once, from a sealed copy before it creates or
//! enters a container ([`run_sealed`]): a memfd holding the executable,
//! sealed against every change (F_SEAL_WRITE, SHRINK, GROW, SEAL and, from
//! Linux 6.3, EXEC), executed by descriptor. From then on every process box
//! clones has that copy as its executable, and box-init under `--init`
//! executes the same copy; the host's file is never opened in a container.
//! A descriptor on the copy gives nothing: it cannot be written, truncated
//! or made non-executable, and nothing else ever executes it.
//!
//! The copy is skipped where the host's file itself cannot be changed by
//! anything a container of this caller can become (see
//! [`out_of_reach`]): on a filesystem without write support (squashfs,
//! erofs, cramfs, iso9660), or for an unprivileged caller that neither owns
//! nor may write the file. A read-only mount is not enough: it can be made
//! writable again by the host, and a descriptor taken before would then
//! open for writing.
//!
//! The re-exec is invisible: the same PID, argv (argv[0] dispatch works as
//! before), environment, descriptors, signal mask and dispositions, parent,
//! and hence exit status; the process name (comm), which the kernel takes
//! from the memfd, is put back.

use core::ffi::CStr;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Access, AtFlags, CWD, MemfdFlags, Mode, OFlags, SealFlags};
use rustix::io::Errno;

use crate::error::{Context, Result};
use crate::sys::entry::Args;
use crate::sys::raw;
use crate::text::CPath;

use linux_raw_sys::general as k;

/// The seals that make the copy immutable: its content (WRITE, with SHRINK
/// and GROW its size) and the set of seals itself (SEAL). See memfd_create(2).
const SEALS: SealFlags = SealFlags::SEAL
    .union(SealFlags::SHRINK)
    .union(SealFlags::GROW)
    .union(SealFlags::WRITE);

/// Filesystems with no write support at all: no remount, by the host or
/// anyone, makes a file on them writable (statfs(2) f_type).
const READ_ONLY_FILESYSTEMS: &[u32] = &[
    k::SQUASHFS_MAGIC,
    k::EROFS_SUPER_MAGIC_V1,
    k::CRAMFS_MAGIC,
    k::CRAMFS_MAGIC_WEND,
    k::ISOFS_SUPER_MAGIC,
];

/// Make sure box runs from an executable no container can change: return
/// at once if it does, else copy it into a sealed memfd and execute that
/// with the same argv and environment (`args` is the whole argv, from
/// main). Returns only when nothing had to be done, or on failure.
pub fn run_sealed(args: Args) -> Result<()> {
    let step = "seal box's executable";
    let exe = open_own()
        .at(step, "open", b"/proc/self/exe")
        .map_err(|e| {
            if e.errno() == Some(Errno::NOENT) {
                e.hint("/proc is not mounted: box needs it to run from a sealed copy of itself")
            } else {
                e
            }
        })?;
    if is_sealed(exe.as_fd()) {
        restore_name();
        return Ok(());
    }
    if out_of_reach(exe.as_fd()) {
        return Ok(());
    }
    let name = own_name();
    let copy = sealed_copy(&exe, name.as_cstr())?;
    drop(exe);
    let errno = raw::execveat_fd(copy.as_fd(), args.as_execve_argv(), args.envp());
    Err(crate::error::Error::sys(
        "start box's sealed copy",
        "execveat",
        name.as_bytes(),
        errno,
    ))
}

/// box's own executable, opened for reading (`--init` executes it by this
/// descriptor: after [`run_sealed`], the sealed copy).
pub fn open_own() -> core::result::Result<OwnedFd, Errno> {
    rustix::fs::open(
        c"/proc/self/exe",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Whether `exe` is a memfd sealed against writing and resizing
/// (F_GET_SEALS on any other file is EINVAL).
fn is_sealed(exe: BorrowedFd<'_>) -> bool {
    let wanted = SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW;
    rustix::fs::fcntl_get_seals(exe).is_ok_and(|seals| seals.contains(wanted))
}

/// Whether nothing a container of this caller can become could change the
/// host's file `exe`, so that a descriptor on it gives nothing:
/// - it is on a filesystem that has no write support (squashfs, erofs, …);
/// - or the caller is unprivileged (not root, no capability, not set-id),
///   does not own the file (an owner may chmod it writable first) and may
///   not write it (access(2), which counts its groups and ACLs). Every
///   container of such a caller lives in a user namespace it owns: its
///   processes are the caller on the host, with capabilities only over
///   that namespace's files, which this one is not.
fn out_of_reach(exe: BorrowedFd<'_>) -> bool {
    if rustix::fs::fstatfs(exe).is_ok_and(|fs| READ_ONLY_FILESYSTEMS.contains(&(fs.f_type as u32)))
    {
        return true;
    }
    let uid = rustix::process::getuid();
    let gid = rustix::process::getgid();
    if uid.is_root() || rustix::process::geteuid() != uid || rustix::process::getegid() != gid {
        return false;
    }
    let no_capability = rustix::thread::capabilities(None)
        .is_ok_and(|c| c.permitted.is_empty() && c.effective.is_empty());
    let owner = rustix::fs::fstat(exe).map(|st| st.st_uid);
    no_capability
        && owner.is_ok_and(|owner| owner != uid.as_raw())
        && matches!(
            rustix::fs::accessat(CWD, c"/proc/self/exe", Access::WRITE_OK, AtFlags::empty()),
            Err(Errno::ACCESS | Errno::PERM)
        )
}

/// Copy `exe` into a new memfd named `name` and seal it.
fn sealed_copy(exe: &OwnedFd, name: &CStr) -> Result<OwnedFd> {
    let step = "copy box into sealed memory";
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    // MFD_EXEC (6.3+) says the memfd is meant to be executed, which
    // vm.memfd_noexec=1 would otherwise forbid; older kernels refuse the
    // flag (EINVAL) and execute any memfd.
    let memfd = match rustix::fs::memfd_create(name, flags | MemfdFlags::EXEC) {
        Err(Errno::INVAL) => rustix::fs::memfd_create(name, flags),
        other => other,
    }
    .at(step, "memfd_create", name.to_bytes())
    .map_err(|e| {
        if e.errno() == Some(Errno::ACCESS) {
            e.hint("sysctl vm.memfd_noexec=2 forbids executable memfds: set it to 1 or 0")
        } else {
            e
        }
    })?;
    let size = rustix::fs::fstat(exe)
        .at(step, "fstat", b"/proc/self/exe")?
        .st_size as u64;
    let mut copied = 0u64;
    while copied < size {
        let n = rustix::fs::sendfile(&memfd, exe, None, (size - copied) as usize).at(
            step,
            "sendfile",
            b"/proc/self/exe",
        )?;
        if n == 0 {
            return Err(crate::bad!(
                "{step}: /proc/self/exe ended after {copied} of {size} bytes"
            ));
        }
        copied += n as u64;
    }
    // F_SEAL_EXEC (6.3+) keeps the mode's execute bits: a container given
    // a descriptor on the copy (box-init's, under --init) could otherwise
    // chmod it, and the copy is executed again for each --init container
    // of the same box process (a board's box-init starts them all).
    match rustix::fs::fcntl_add_seals(&memfd, SEALS | SealFlags::EXEC) {
        Err(Errno::INVAL) => rustix::fs::fcntl_add_seals(&memfd, SEALS),
        other => other,
    }
    .at(step, "fcntl(F_ADD_SEALS)", name.to_bytes())?;
    Ok(memfd)
}

/// The process name (comm) now, which the copy is named after.
fn own_name() -> CPath {
    let mut name = [0u8; 32];
    let n = crate::cgroup::read_file(c"/proc/self/comm", &mut name).unwrap_or(0);
    let name = name[..n].strip_suffix(b"\n").unwrap_or(&name[..n]);
    CPath::from_bytes(name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| CPath::from_bytes(b"box").unwrap_or_default())
}

/// Put back the process name the caller gave box: executed by descriptor,
/// the kernel names a process after the memfd ("memfd:box", or the
/// descriptor's number before Linux 6.14), while ps, pgrep and pidof look
/// for the name of the file the caller executed. The copy carries that name
/// (/proc/self/exe reads "/memfd:NAME (deleted)").
fn restore_name() {
    let mut link = [0u8; 128];
    let Ok(n) = rustix::fs::readlinkat_raw(CWD, c"/proc/self/exe", &mut link[..]) else {
        return;
    };
    let Some(name) = memfd_name(&link[..n]) else {
        return;
    };
    if let Some(comm) = CPath::from_bytes(name) {
        let _ = rustix::thread::set_name(comm.as_cstr());
    }
}

/// NAME in a memfd's link text, `/memfd:NAME (deleted)`.
fn memfd_name(link: &[u8]) -> Option<&[u8]> {
    let name = link.strip_prefix(b"/memfd:")?;
    let name = name.strip_suffix(b" (deleted)").unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfd_names_come_from_the_link() {
        assert_eq!(memfd_name(b"/memfd:box (deleted)"), Some(&b"box"[..]));
        assert_eq!(memfd_name(b"/memfd:init (deleted)"), Some(&b"init"[..]));
        assert_eq!(memfd_name(b"/memfd:box-init"), Some(&b"box-init"[..]));
        assert_eq!(memfd_name(b"/usr/bin/box"), None);
        assert_eq!(memfd_name(b"/memfd: (deleted)"), None);
    }
}
