//! Processes: exit statuses, waiting, signalling, unshare.

use crate::packed::Packed;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use rustix::process::{Pid, Resource, Rlimit, WaitId, WaitIdOptions, WaitIdStatus, WaitOptions};
use rustix::thread::UnshareFlags;

use super::signal::{self, SigSet};

/// How a child ended: its exit code, or the signal that killed it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ended {
    Exited(u8),
    Killed(i32),
}

impl Ended {
    fn of(exit_status: Option<i32>, terminating_signal: Option<i32>) -> Ended {
        match terminating_signal {
            Some(signal) => Ended::Killed(signal),
            None => Ended::Exited(exit_status.unwrap_or(0) as u8),
        }
    }

    /// The exit status a shell reports: the code, or 128+N when killed by
    /// signal N. The one place box computes it.
    pub fn code(self) -> u8 {
        match self {
            Ended::Exited(code) => code,
            Ended::Killed(signal) => 128u8.wrapping_add(signal as u8),
        }
    }
}

impl core::fmt::Display for Ended {
    /// `exited with status N`, `killed by signal N (status 128+N)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Ended::Exited(code) => write!(f, "exited with status {code}"),
            Ended::Killed(signal) => {
                write!(f, "killed by signal {signal} (status {})", self.code())
            }
        }
    }
}

/// Exit status of a process, as a shell reports it: the code, or 128+N
/// when killed by signal N.
pub fn exit_code(status: &WaitIdStatus) -> u8 {
    Ended::of(status.exit_status(), status.terminating_signal()).code()
}

/// Reap one child that has exited, whichever it is: its PID and how it
/// ended. Without `block`, `None` when none has exited yet; `None` too
/// when there is no child at all (ECHILD). EINTR is retried.
pub fn reap_any(block: bool) -> Option<(Pid, Ended)> {
    let options = if block {
        WaitOptions::empty()
    } else {
        WaitOptions::NOHANG
    };
    loop {
        match rustix::process::wait(options) {
            Ok(Some((pid, status))) if status.exited() || status.signaled() => {
                let ended = Ended::of(status.exit_status(), status.terminating_signal());
                return Some((pid, ended));
            }
            Ok(Some(_)) | Err(Errno::INTR) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Reap every child that has exited (an init's duty: orphans included);
/// how `main` ended, if it was among them.
pub fn reap_all(main: Pid) -> Option<Ended> {
    let mut main_ended = None;
    while let Some((pid, ended)) = reap_any(false) {
        if pid == main {
            main_ended = Some(ended);
        }
    }
    main_ended
}

/// Reap `child` if it has exited (WNOHANG): its exit code, or `None` while it
/// still runs. `pidfd` is preferred when the kernel gave one (5.4+ waitid
/// P_PIDFD), since it cannot name a recycled PID.
pub fn try_reap(pid: Pid, pidfd: Option<BorrowedFd<'_>>) -> Result<Option<u8>, Errno> {
    Ok(try_reap_status(pid, pidfd)?.map(|s| exit_code(&s)))
}

/// [`try_reap`], with the status as waitid gives it.
fn try_reap_status(pid: Pid, pidfd: Option<BorrowedFd<'_>>) -> Result<Option<WaitIdStatus>, Errno> {
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
    let result = match pidfd {
        Some(fd) => match rustix::process::waitid(WaitId::PidFd(fd), options) {
            Err(Errno::INVAL) => rustix::process::waitid(WaitId::Pid(pid), options),
            other => other,
        },
        None => rustix::process::waitid(WaitId::Pid(pid), options),
    };
    Ok(result?.filter(|s| s.exited() || s.killed() || s.dumped()))
}

/// Wait for child `pid` to end, passing on to it every signal of `watched`
/// but SIGCHLD (through `pidfd` when there is one). The caller blocks the
/// signals of `watched`, SIGCHLD among them, before the child exists and
/// for good: one that arrives between two looks stays pending, and a child
/// that exits at once is never missed.
pub fn wait_forwarding(
    pid: Pid,
    pidfd: Option<BorrowedFd<'_>>,
    watched: &SigSet,
) -> Result<WaitIdStatus, Errno> {
    loop {
        if let Some(status) = try_reap_status(pid, pidfd)? {
            return Ok(status);
        }
        if let Ok(Some(info)) = signal::wait_signal(watched, None)
            && info.signal != libc::SIGCHLD
        {
            let _ = send_signal(pid, pidfd, info.signal);
        }
    }
}

/// Ask for `signal` when the parent dies (PR_SET_PDEATHSIG), then check
/// that it has not died already, which would leave nobody to send it:
/// `parent_pipe` is our end of a pipe whose other end only the parent
/// holds, and POLLERR (or POLLHUP) on it means that end is closed. Whether
/// the parent is still there. Changing credentials clears the setting
/// (prctl(2)): call this again after.
pub fn die_with_parent(
    signal: rustix::process::Signal,
    parent_pipe: BorrowedFd<'_>,
) -> Result<bool, Errno> {
    rustix::process::set_parent_process_death_signal(Some(signal))?;
    let mut fds = [PollFd::from_borrowed_fd(parent_pipe, PollFlags::empty())];
    let now = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let gone = rustix::event::poll(&mut fds, Some(&now)).is_ok()
        && fds[0].revents().intersects(PollFlags::ERR | PollFlags::HUP);
    Ok(!gone)
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
                    packed!("wait for the command"),
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
    signal::set_signal_default(signal, false);
    // Only this one may arrive now: a SIGINT we held back must not win.
    signal::set_signal_mask(&SigSet::all_but(&[signal]));
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

/// A process forked before a step that changes what we are (unshare(2),
/// setuid), so that it keeps the namespaces and rights we had, to act on
/// us from there: bind our new namespaces onto files, write our uid and gid
/// maps. It waits for [`Helper::finish`] (a byte on a pipe), does its
/// work, and exits with the work's status; if we drop it unfinished, or
/// die, it sees the pipe's end and exits 1 without working.
pub struct Helper {
    pid: Pid,
    /// Our end of the pipe it waits on.
    go: OwnedFd,
}

impl Helper {
    /// Start the helper; `work` runs in it after the go. `work` runs in a
    /// forked copy of this process: no allocation (as any clone child).
    /// (A `dyn` closure: one copy of this code for every helper.)
    #[inline(never)]
    pub fn spawn(step: Packed, work: &dyn Fn() -> u8) -> crate::error::Result<Helper> {
        use crate::error::{Context, Error};
        // Its status is read with waitid: not reaped by the kernel.
        signal::set_signal_default(libc::SIGCHLD, false);
        let mut ends = Some(rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(step, "pipe2", b"")?);
        let spawned = super::clone::spawn(0, None, libc::SIGCHLD as u64, || {
            let Some((wait, go)) = ends.take() else {
                super::exec::exit_now(1)
            };
            drop(go);
            // A byte: go. End of file: the caller failed, or died, first.
            let mut byte = [0u8];
            if !matches!(rustix::io::read(&wait, &mut byte), Ok(1)) {
                super::exec::exit_now(1);
            }
            super::exec::exit_now(work())
        })
        .map_err(|(call, e)| Error::sys(step, call, b"", e))?;
        let (_, go) = ends
            .take()
            .ok_or_else(|| crate::bad!("{}: pipe lost", step))?;
        let pid = Pid::from_raw(spawned.pid)
            .ok_or_else(|| crate::bad!("{}: clone returned PID {}", step, spawned.pid))?;
        Ok(Helper { pid, go })
    }

    /// Let it work, and wait until it is done: whether it succeeded (it
    /// said what failed on standard error itself).
    pub fn finish(self) -> crate::error::Result<bool> {
        let _ = rustix::io::write(&self.go, b"!");
        drop(self.go);
        let status = wait_for(self.pid, WaitIdOptions::EXITED)?;
        Ok(status.exit_status() == Some(0))
    }
}

/// unshare(2) for namespaces of the calling process. CLONE_FILES is
/// refused (EINVAL): it would give this thread a descriptor table of its
/// own, apart from the `OwnedFd`s other threads hold.
pub fn unshare(flags: UnshareFlags) -> Result<(), Errno> {
    if flags.contains(UnshareFlags::FILES) {
        return Err(Errno::INVAL);
    }
    // SAFETY: the unsafety of unshare is CLONE_FILES splitting descriptor
    // tables between threads, refused above.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shell's numbers and the words box-init logs.
    #[test]
    fn how_a_child_ended() {
        let exited = Ended::of(Some(3), None);
        let killed = Ended::of(None, Some(9));
        assert_eq!((exited, exited.code()), (Ended::Exited(3), 3));
        assert_eq!((killed, killed.code()), (Ended::Killed(9), 137));
        assert_eq!(Ended::Killed(15).code(), 143);
        assert_eq!(exited.to_string(), "exited with status 3");
        assert_eq!(killed.to_string(), "killed by signal 9 (status 137)");
    }
}
