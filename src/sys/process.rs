//! Processes: descriptors 0-2, exit statuses, waiting, signalling.

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::{Errno, FdFlags};
use rustix::process::{Pid, WaitId, WaitIdOptions, WaitIdStatus};
use rustix::thread::UnshareFlags;

use crate::sys::raw::{self, Forked};

/// Make sure descriptors 0, 1 and 2 are open, on /dev/null if they were
/// closed. A board's PID 1 or a daemon's child may start without them, and
/// then the next descriptor box opens (a pipe, a pidfd) would take their
/// place and be mistaken for standard input or output by a container.
pub fn ensure_standard_fds() {
    for fd in 0..3 {
        // SAFETY: fcntl(F_GETFD) only asks whether the number is open; the
        // borrowed descriptor is not used for anything else.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        if rustix::io::fcntl_getfd(fd) == Err(Errno::BADF) {
            // open() takes the lowest free number, which is this one; the
            // descriptor must stay open for the life of the process.
            if let Ok(null) = rustix::fs::open(c"/dev/null", OFlags::RDWR, Mode::empty()) {
                core::mem::forget(null);
            }
        }
    }
}

/// Exit status of a process, as a shell reports it: the code, or 128+N
/// when killed by signal N.
pub fn exit_code(status: &WaitIdStatus) -> u8 {
    if let Some(sig) = status.terminating_signal() {
        return 128u8.wrapping_add(sig as u8);
    }
    status.exit_status().unwrap_or(0) as u8
}

/// Reap `child` if it has exited (WNOHANG): its exit code, or `None` while it
/// still runs. `pidfd` is preferred when the kernel gave one (5.4+ waitid
/// P_PIDFD), since it cannot name a recycled PID.
pub fn try_reap(pid: Pid, pidfd: Option<BorrowedFd<'_>>) -> Result<Option<u8>, Errno> {
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
    let result = match pidfd {
        Some(fd) => match rustix::process::waitid(WaitId::PidFd(fd), options) {
            Err(Errno::INVAL) => rustix::process::waitid(WaitId::Pid(pid), options),
            other => other,
        },
        None => rustix::process::waitid(WaitId::Pid(pid), options),
    };
    Ok(result?
        .filter(|s| s.exited() || s.killed() || s.dumped())
        .map(|s| exit_code(&s)))
}

/// Reap `child`, blocking until it exits.
pub fn reap(pid: Pid) -> Result<u8, Errno> {
    loop {
        match rustix::process::waitid(WaitId::Pid(pid), WaitIdOptions::EXITED) {
            Ok(Some(s)) => return Ok(exit_code(&s)),
            Ok(None) => continue,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Send `signal` (a raw number) through the pidfd when there is one.
pub fn send_signal(pid: Pid, pidfd: Option<BorrowedFd<'_>>, signal: i32) -> Result<(), Errno> {
    // SAFETY: `Signal::from_raw_unchecked` only wraps the number; the kernel
    // validates it and answers EINVAL for a bad one.
    let sig = unsafe { rustix::process::Signal::from_raw_unchecked(signal) };
    if let Some(fd) = pidfd {
        match rustix::process::pidfd_send_signal(fd, sig) {
            Err(Errno::NOSYS) => {}
            other => return other,
        }
    }
    rustix::process::kill_process(pid, sig)
}

/// Set or clear close-on-exec on a descriptor.
pub fn set_cloexec(fd: impl AsFd, on: bool) -> Result<(), Errno> {
    let flags = if on {
        FdFlags::CLOEXEC
    } else {
        FdFlags::empty()
    };
    rustix::io::fcntl_setfd(fd, flags)
}

/// Standard output. [`ensure_standard_fds`] runs first thing in `main`, so
/// descriptors 0-2 are open for the life of the process.
pub fn stdout() -> BorrowedFd<'static> {
    // SAFETY: fd 1 is open from start-up to exit (ensure_standard_fds), and
    // box never closes it.
    unsafe { BorrowedFd::borrow_raw(1) }
}

/// Standard input; see [`stdout`].
pub fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is open from start-up to exit (ensure_standard_fds), and
    // box never closes it.
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// Standard error; see [`stdout`].
pub fn stderr() -> BorrowedFd<'static> {
    // SAFETY: fd 2 is open from start-up to exit (ensure_standard_fds), and
    // box never closes it.
    unsafe { BorrowedFd::borrow_raw(2) }
}

/// The process that `clone` made, seen from the caller.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
}

/// Create a process with `flags` (namespace flags, CLONE_INTO_CGROUP with
/// `cgroup`) and run `child` in it. clone3 with CLONE_PIDFD; clone on kernels
/// without clone3 (ENOSYS, before 5.3, or a seccomp policy that answers
/// ENOSYS); without CLONE_PIDFD before 5.2. On failure, the syscall's name.
///
/// `child` runs in a copy of this process and must not return. It must not
/// allocate or take locks either (the copy holds whatever state the parent's
/// allocator was in): it makes raw syscalls and ends in execve or _exit.
/// This is sound because box never starts a second thread.
#[allow(unreachable_code)]
pub fn spawn(
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
    exit_signal: u64,
    child: impl FnOnce() -> core::convert::Infallible,
) -> Result<Spawned, (&'static str, Errno)> {
    use linux_raw_sys::general as k;
    let mut args = k::clone_args {
        flags: flags | u64::from(k::CLONE_PIDFD),
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: 0,
    };
    if let Some(fd) = cgroup {
        args.flags |= k::CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: box is single-threaded, and the child runs only `child`, whose
    // contract (above) is the one raw::clone3 asks for.
    let forked = match unsafe { raw::clone3(&mut args) } {
        Err(Errno::NOSYS) if cgroup.is_none() => {
            // SAFETY: as above.
            match unsafe { raw::clone_legacy(flags | u64::from(k::CLONE_PIDFD), exit_signal) } {
                // CLONE_PIDFD arrived in 5.2: without it, go by PID.
                // SAFETY: as above.
                Err(Errno::INVAL) => unsafe { raw::clone_legacy(flags, exit_signal) },
                other => other,
            }
            .map_err(|e| ("clone", e))?
        }
        other => other.map_err(|e| ("clone3", e))?,
    };
    match forked {
        // `child` returns an uninhabited type: it never comes back here.
        Forked::Child => match child() {},
        Forked::Parent { pid, pidfd } => Ok(Spawned { pid, pidfd }),
    }
}

/// unshare(2) for namespaces of the calling process (never CLONE_FILES, so
/// no descriptor table is split between threads; box has one thread).
pub fn unshare(flags: UnshareFlags) -> Result<(), Errno> {
    debug_assert!(!flags.contains(UnshareFlags::FILES));
    // SAFETY: the unsafety of unshare is CLONE_FILES splitting descriptor
    // tables between threads; it is never passed, and box is single-threaded.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}

/// Mark every descriptor from `first` up close-on-exec: close_range with
/// CLOSE_RANGE_CLOEXEC (5.11+), else a walk over /proc/self/fd.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    match raw::close_range(first, u32::MAX, true) {
        Err(Errno::NOSYS | Errno::INVAL) => {}
        other => return other,
    }
    let dir = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(entry) = entries.next() {
        let Some(fd) = crate::text::parse_u32(entry?.file_name().to_bytes()) else {
            continue;
        };
        if fd >= first {
            // SAFETY: borrowed only to set FD_CLOEXEC on a number from our
            // own descriptor table; a number that is gone gives EBADF.
            let fd = unsafe { BorrowedFd::borrow_raw(fd as i32) };
            let _ = set_cloexec(fd, true);
        }
    }
    Ok(())
}

/// execve `program`, searching `path` (a PATH value) when the name has no
/// slash, as execvp does but without allocating: ENOENT and ENOTDIR move on,
/// EACCES is remembered (a later directory may still have the file), any
/// other error stops the search. Returns only on failure: the errno and the
/// path it applies to (for "not found in PATH", ENOENT and the bare name).
pub fn exec_search(
    program: &core::ffi::CStr,
    argv: *const *const core::ffi::c_char,
    envp: *const *const core::ffi::c_char,
    path: &[u8],
) -> (Errno, crate::text::CPath) {
    use crate::text::CPath;
    let name = program.to_bytes();
    if name.contains(&b'/') {
        let errno = raw::execve(program, argv, envp);
        return (errno, CPath::from_bytes(name).unwrap_or_default());
    }
    let mut denied: Option<CPath> = None;
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Some(full) = CPath::from_parts(&[dir, b"/", name]) else {
            continue;
        };
        match raw::execve(full.as_cstr(), argv, envp) {
            Errno::NOENT | Errno::NOTDIR => {}
            Errno::ACCESS => denied = denied.or(Some(full)),
            errno => return (errno, full),
        }
    }
    match denied {
        Some(full) => (Errno::ACCESS, full),
        None => (Errno::NOENT, CPath::from_bytes(name).unwrap_or_default()),
    }
}

/// dup2(2): make descriptor number `target` a copy of `fd` (for the
/// standard descriptors 0-2, which box then keeps open for good).
pub fn dup_onto(fd: BorrowedFd<'_>, target: i32) -> Result<(), Errno> {
    // SAFETY: `target` is only named as dup2's destination; the OwnedFd is
    // never dropped (ManuallyDrop), so box does not close a descriptor it
    // does not own.
    let mut dest = core::mem::ManuallyDrop::new(unsafe {
        <OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(target)
    });
    rustix::io::dup2(fd, &mut dest)
}
