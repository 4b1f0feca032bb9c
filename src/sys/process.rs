//! Processes: exit statuses, waiting, signalling, unshare.

use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::process::{Pid, WaitId, WaitIdOptions, WaitIdStatus};
use rustix::thread::UnshareFlags;

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

/// unshare(2) for namespaces of the calling process (never CLONE_FILES, so
/// no descriptor table is split between threads; box has one thread).
pub fn unshare(flags: UnshareFlags) -> Result<(), Errno> {
    debug_assert!(!flags.contains(UnshareFlags::FILES));
    // SAFETY: the unsafety of unshare is CLONE_FILES splitting descriptor
    // tables between threads; it is never passed, and box is single-threaded.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}
