//! Processes: exit statuses, waiting, signalling, unshare.

use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::process::{Pid, Resource, Rlimit, WaitId, WaitIdOptions, WaitIdStatus};
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

/// Wait for `pid` to change state as `options` say (EINTR retried).
pub fn wait_for(pid: Pid, options: WaitIdOptions) -> crate::error::Result<WaitIdStatus> {
    loop {
        match rustix::process::waitid(WaitId::Pid(pid), options) {
            Ok(Some(status)) => return Ok(status),
            Ok(None) | Err(Errno::INTR) => {}
            Err(e) => {
                return Err(crate::error::Error::sys(
                    "wait for the command",
                    "waitid",
                    b"",
                    e,
                ));
            }
        }
    }
}

/// Our exit status for a child that ended with `status`: its code; for a
/// child killed by a signal, the same death for us, as util-linux's tools
/// do (the caller of unshare or nsenter sees what the command saw).
pub fn exit_like(status: &WaitIdStatus) -> u8 {
    match status.terminating_signal() {
        Some(signal) => die_by(signal),
        None => exit_code(status),
    }
}

/// Kill ourselves with `signal`. Returns 128+N only if the signal does not
/// kill by default (a child cannot die of one of those).
fn die_by(signal: i32) -> u8 {
    // The command's crash made its own core file; none of box's.
    let core = rustix::process::getrlimit(Resource::Core);
    let _ = rustix::process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: core.maximum,
        },
    );
    super::signal::set_signal_default(signal, false);
    // Only this one may arrive now: a SIGINT we held back must not win.
    super::signal::set_signal_mask(&super::signal::SigSet::all_but(&[signal]));
    let _ = send_signal(rustix::process::getpid(), None, signal);
    128u8.wrapping_add(signal as u8)
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
