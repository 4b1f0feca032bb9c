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
//! On a board, box-init (PID 1) holds such a copy for good when one of
//! its containers is one Landlock cannot confine (src/board/services.rs).
//! Its name says which file it was copied from and when that file last
//! changed (device, inode, size, ctime); a box run from the same unchanged
//! file executes that copy instead of making its own ([`copy_of_init`]):
//! no copy to make, no memory held per box process.
//!
//! The re-exec is invisible: the same PID, argv (argv[0] dispatch works as
//! before), environment, descriptors, signal mask and dispositions, parent,
//! and hence exit status; the process name (comm), which the kernel takes
//! from the memfd, is put back to the basename of argv[0], which is what
//! the kernel names a program after (the basename of the path it was
//! executed by, the same unless the caller gave another argv[0]).

use core::ffi::CStr;

use core::fmt::Write;

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{Access, AtFlags, CWD, MemfdFlags, Mode, OFlags, SealFlags};
use rustix::io::Errno;

use crate::error::{Context, Result};
use crate::sys::entry::Args;
use crate::sys::exec;
use crate::sys::timing::{self, Side, Step};
use crate::text::{CPath, Text};

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
    let step = packed!("seal box's executable");
    let exe = open_own()
        .at(step, "open", b"/proc/self/exe")
        .map_err(|e| {
            if e.errno() == Some(Errno::NOENT) {
                e.hint(packed!(
                    "/proc is not mounted: box needs it to run from a sealed copy of itself"
                ))
            } else {
                e
            }
        })?;
    if sealed_restored(exe.as_fd(), args) || out_of_reach(exe.as_fd()) {
        timing::mark(Step::SealCheck);
        return Ok(());
    }
    let (name, size) = copy_name(exe.as_fd()).at(step, "fstat", b"/proc/self/exe")?;
    timing::mark(Step::SealCheck);
    let copy = match copy_of_init(name.as_bytes()) {
        Some(copy) => copy,
        None => sealed_copy(&exe, size, name.as_cstr())?,
    };
    // (`exe` is close-on-exec: no close of its own.)
    timing::mark(Step::SealCopy);
    timing::print(Side::Seal);
    let errno = exec::execveat_fd(copy.as_fd(), args.argv(), args.envp());
    drop(exe);
    Err(crate::error::Error::sys(
        packed!("start box's sealed copy"),
        "execveat",
        name.as_bytes(),
        errno,
    ))
}

/// Whether box already runs from a sealed copy of itself (after
/// [`run_sealed`], or box-init's: src/board/services.rs); if so, its name
/// is put back.
pub fn runs_sealed(args: Args) -> bool {
    open_own().is_ok_and(|exe| sealed_restored(exe.as_fd(), args))
}

/// Whether `exe`, box's own file, is a sealed copy; if so, the name is put
/// back ([`runs_sealed`], and [`run_sealed`] on the descriptor it opened).
fn sealed_restored(exe: BorrowedFd<'_>, args: Args) -> bool {
    let sealed = is_sealed(exe);
    if sealed {
        restore_name(args);
    }
    sealed
}

/// What a copy of `exe` is named: `box@DEV:INO:SIZE:CTIME`, the file it
/// was made from as it was then; and its size, for the copy. Any change to a file's content or mode
/// moves its ctime, which no one but the kernel sets.
fn copy_name(exe: BorrowedFd<'_>) -> core::result::Result<(CPath, u64), Errno> {
    let st = rustix::fs::fstat(exe)?;
    let mut name = Text::<128>::new();
    let _ = write!(
        name,
        "box@{}:{}:{}:{}.{}",
        st.st_dev, st.st_ino, st.st_size, st.st_ctime, st.st_ctime_nsec
    );
    let name = CPath::from_bytes(name.as_bytes()).unwrap_or_default();
    Ok((name, st.st_size as u64))
}

/// PID 1's executable, if it is a sealed copy named `name`: box-init's
/// copy of the very file this box runs from, unchanged since. Only the
/// board's own PID 1 is trusted, the one of the initial PID namespace: in
/// a container's namespaces (nsenter, box exec), /proc/1 is the container's
/// init, which could name a copy of anything so. The name is read through
/// the descriptor opened (/proc/self/fd/N), so that both checks are of the
/// file executed. `None` for any other PID 1 (systemd, an older box, one
/// that cannot be opened).
fn copy_of_init(name: &[u8]) -> Option<OwnedFd> {
    let ns = rustix::fs::stat(c"/proc/1/ns/pid").ok()?;
    if Some(ns.st_ino as u64) != crate::sys::ns::initial_inode("pid") {
        return None;
    }
    let init = rustix::fs::open(
        c"/proc/1/exe",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    if !is_sealed(init.as_fd()) {
        return None;
    }
    let mut path = CPath::proc(None, b"/fd/");
    path.push_u64(init.as_raw_fd() as u64)?;
    let mut link = [0u8; 256];
    let n = rustix::fs::readlinkat_raw(CWD, path.as_cstr(), &mut link[..]).ok()?;
    (memfd_name(&link[..n]) == Some(name)).then_some(init)
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

/// Whether `exe` is a memfd sealed against writing (F_SEAL_WRITE, or
/// FUTURE_WRITE where WRITE was busy) and resizing (F_GET_SEALS on any
/// other file is EINVAL).
fn is_sealed(exe: BorrowedFd<'_>) -> bool {
    let size = SealFlags::SHRINK | SealFlags::GROW;
    rustix::fs::fcntl_get_seals(exe).is_ok_and(|seals| {
        seals.contains(size) && seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE)
    })
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

/// Copy `exe`, `size` bytes, into a new memfd named `name` and seal it.
fn sealed_copy(exe: &OwnedFd, size: u64, name: &CStr) -> Result<OwnedFd> {
    let step = packed!("copy box into sealed memory");
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
            e.hint(packed!(
                "sysctl vm.memfd_noexec=2 forbids executable memfds: set it to 1 or 0"
            ))
        } else {
            e
        }
    })?;
    let mut copied = 0u64;
    while copied < size {
        let n = rustix::fs::sendfile(&memfd, exe, None, (size - copied) as usize).at(
            step,
            "sendfile",
            b"/proc/self/exe",
        )?;
        if n == 0 {
            return Err(crate::bad!(
                "{}: /proc/self/exe ended after {} of {} bytes",
                step,
                copied,
                size
            ));
        }
        copied += n as u64;
    }
    // F_SEAL_EXEC (6.3+) keeps the mode's execute bits: a container given
    // a descriptor on the copy (box-init's, under --init) could otherwise
    // chmod it, and the copy is executed again for each --init container
    // of the same box process (a board's box-init starts them all).
    //
    // F_SEAL_WRITE fails with EBUSY while any page of the memfd still has
    // a reference the kernel counts as a pin; under memory pressure or
    // heavy load a page just written can keep one for longer than the
    // kernel waits (about 150 ms). F_SEAL_FUTURE_WRITE then gives the
    // same guarantee here: it refuses every later write and writable
    // mapping, and no mapping of this memfd exists (it is box's own, just
    // made, never mapped).
    add_seals(&memfd, SEALS)
        .or_else(|errno| match errno {
            Errno::BUSY => add_seals(
                &memfd,
                SEALS.difference(SealFlags::WRITE) | SealFlags::FUTURE_WRITE,
            ),
            other => Err(other),
        })
        .at(step, "fcntl(F_ADD_SEALS)", name.to_bytes())?;
    Ok(memfd)
}

/// Add `seals` and, where the kernel knows it (6.3+), F_SEAL_EXEC.
fn add_seals(memfd: &OwnedFd, seals: SealFlags) -> core::result::Result<(), Errno> {
    match rustix::fs::fcntl_add_seals(memfd, seals | SealFlags::EXEC) {
        Err(Errno::INVAL) => rustix::fs::fcntl_add_seals(memfd, seals),
        other => other,
    }
}

/// Name the process after argv[0] again: executed by descriptor, the
/// kernel names it after the memfd ("memfd:box@…", or the descriptor's
/// number before Linux 6.14), while ps, pgrep and pidof look for the name
/// of the program.
fn restore_name(args: Args) {
    let name = crate::text::basename(args.bytes(0));
    let name = &name[..name.len().min(15)];
    if let Some(comm) = CPath::from_bytes(name).filter(|n| !n.is_empty()) {
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
        assert_eq!(
            memfd_name(b"/memfd:box@2049:131:692696:1733100000.5 (deleted)"),
            Some(&b"box@2049:131:692696:1733100000.5"[..])
        );
        assert_eq!(memfd_name(b"/memfd:init (deleted)"), Some(&b"init"[..]));
        assert_eq!(memfd_name(b"/memfd:box-init"), Some(&b"box-init"[..]));
        assert_eq!(memfd_name(b"/usr/bin/box"), None);
        assert_eq!(memfd_name(b"/memfd: (deleted)"), None);
    }

    /// The fallback seal set (FUTURE_WRITE for WRITE) counts as sealed,
    /// and refuses writes through a descriptor reopened by path, as a
    /// container holding /proc/PID/exe would.
    #[test]
    fn a_copy_sealed_for_future_writes_is_sealed_and_unwritable() {
        let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
        let memfd = rustix::fs::memfd_create(c"box-test", flags).unwrap();
        rustix::io::write(&memfd, b"\x7fELF").unwrap();
        assert!(!is_sealed(memfd.as_fd()));
        add_seals(
            &memfd,
            SEALS.difference(SealFlags::WRITE) | SealFlags::FUTURE_WRITE,
        )
        .unwrap();
        assert!(is_sealed(memfd.as_fd()));
        let mut path = CPath::from_bytes(b"/proc/self/fd/").unwrap();
        path.push_u64(memfd.as_raw_fd() as u64).unwrap();
        let again = rustix::fs::open(path.as_cstr(), OFlags::WRONLY, Mode::empty()).unwrap();
        assert_eq!(rustix::io::write(&again, b"x"), Err(Errno::PERM));
        assert_eq!(rustix::io::write(&memfd, b"x"), Err(Errno::PERM));
    }
}
