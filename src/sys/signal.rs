//! Signals: masks, dispositions, synchronous waits (sigtimedwait,
//! signalfd) and kill(-1).

use core::ffi::c_int;
use core::mem::MaybeUninit;

use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::io::Errno;

use super::last_errno;

/// Faults that must stay deliverable (and fatal) to an init that takes
/// every other signal in its loop: blocked, a fault of its own would hang
/// it (or the kernel would kill it anyway).
pub const SYNCHRONOUS: &[c_int] = &[
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The signals by name, without SIG (signal(7)), with the kernel's
/// numbers for this architecture (libc's constants). A name that is an
/// alias (IOT, CLD, POLL) follows the one `name` gives.
const NAMES: &[(&str, c_int)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The highest signal number (SIGRTMAX, the kernel's _NSIG).
const LAST: u32 = 64;

/// A signal as util-linux's kill(1) takes one: a name with or without
/// `SIG`, in any case (`TERM`, `SIGTERM`, `sigterm`), or a number from 1
/// to 64.
pub fn parse(word: &[u8]) -> Option<c_int> {
    if let Some(n) = crate::text::parse_u32(word) {
        return (1..=LAST).contains(&n).then_some(n as c_int);
    }
    let name = match word.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"SIG") => &word[3..],
        _ => word,
    };
    NAMES
        .iter()
        .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
        .map(|&(_, number)| number)
}

/// The name of `signal` without SIG (`TERM`), or `None` for a number
/// without one (the real-time signals).
pub fn name(signal: c_int) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|&&(_, number)| number == signal)
        .map(|&(name, _)| name)
}

/// A set of signals.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    pub fn empty() -> Self {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the whole set it is given.
        unsafe { libc::sigemptyset(set.as_mut_ptr()) };
        // SAFETY: initialised just above.
        Self(unsafe { set.assume_init() })
    }

    pub fn of(signals: &[c_int]) -> Self {
        let mut set = Self::empty();
        for &s in signals {
            // SAFETY: `set.0` is an initialised sigset; an invalid number
            // only makes sigaddset return EINVAL, which is ignored.
            unsafe { libc::sigaddset(&mut set.0, s) };
        }
        set
    }

    /// Every signal but `except` (for an init that handles all of them but
    /// the synchronous faults, which must kill it as usual).
    pub fn all_but(except: &[c_int]) -> Self {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises the whole set it is given.
        unsafe { libc::sigfillset(set.as_mut_ptr()) };
        // SAFETY: initialised just above.
        let mut set = Self(unsafe { set.assume_init() });
        for &s in except {
            // SAFETY: `set.0` is an initialised sigset; EINVAL is ignored.
            unsafe { libc::sigdelset(&mut set.0, s) };
        }
        set
    }
}

/// Replace the blocked-signal mask, returning the old one.
pub fn set_signal_mask(set: &SigSet) -> SigSet {
    let mut old = SigSet::empty();
    // SAFETY: both pointers refer to initialised sigsets owned by this frame.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set.0, &mut old.0) };
    old
}

/// Block the signals in `set` (added to the current mask).
pub fn block_signals(set: &SigSet) -> SigSet {
    let mut old = SigSet::empty();
    // SAFETY: both pointers refer to initialised sigsets owned by this frame.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set.0, &mut old.0) };
    old
}

/// `si_code` of a signal the kernel itself sent (a terminal hangup, a
/// child's exit), as opposed to one sent with kill(2) (SI_USER).
pub const SI_KERNEL: c_int = libc::SI_KERNEL;

/// A signal taken from the pending set.
pub struct SigInfo {
    pub signal: c_int,
    /// SI_USER, SI_KERNEL, …
    pub code: c_int,
}

/// Wait for one of the (blocked) signals in `set`, at most `timeout_ms`
/// milliseconds if given. `Ok(None)` on timeout; EINTR is retried.
pub fn wait_signal(set: &SigSet, timeout_ms: Option<u64>) -> Result<Option<SigInfo>, Errno> {
    // tv_sec is 32 bits on 32-bit targets: the libc crate declares musl's
    // old time_t there (and musl 1.2 serves such programs through its
    // time32 entry points). A timeout is capped at what 32 bits hold, 68
    // years, rather than wrapped into a short or negative one.
    let ts = timeout_ms.map(|ms| libc::timespec {
        tv_sec: (ms / 1000).min(i32::MAX as u64) as _,
        tv_nsec: ((ms % 1000) * 1_000_000) as _,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const libc::timespec);
    loop {
        let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: `set` is initialised, `info` is writable storage of the
        // right type, `ts_ptr` is null or points at a live timespec.
        let sig = unsafe { libc::sigtimedwait(&set.0, info.as_mut_ptr(), ts_ptr) };
        if sig >= 0 {
            // SAFETY: the kernel filled `info` for the returned signal (it
            // was zeroed before, so every field is initialised either way).
            let info = unsafe { info.assume_init() };
            return Ok(Some(SigInfo {
                signal: sig,
                code: info.si_code,
            }));
        }
        match last_errno() {
            Errno::INTR => continue,
            Errno::AGAIN => return Ok(None),
            e => return Err(e),
        }
    }
}

/// Set `signal`'s disposition to SIG_DFL (`ignore == false`) or SIG_IGN.
pub fn set_signal_default(signal: c_int, ignore: bool) {
    let handler = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: a zeroed sigaction with SIG_DFL/SIG_IGN and an empty mask is
    // valid; EINVAL for SIGKILL/SIGSTOP or reserved signals is ignored.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigaction(signal, &sa, core::ptr::null_mut());
    }
}

/// A clean signal state for a program about to be executed: every standard
/// signal back to its default action (the caller may have ignored SIGINT
/// or SIGPIPE, and ignored signals stay ignored across execve) and nothing
/// blocked.
pub fn reset_signals() {
    for signal in 1..32 {
        if signal != libc::SIGKILL && signal != libc::SIGSTOP {
            set_signal_default(signal, false);
        }
    }
    set_signal_mask(&SigSet::empty());
}

/// kill(-1, signal): every process this one may signal, except itself (at
/// shutdown, PID 1 stopping everything). rustix has no way to name -1.
pub fn kill_all(signal: c_int) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-1, signal) };
}

/// signalfd(2) for the (blocked) signals of `set`: each read gives the
/// number of one pending signal. For a loop that also polls descriptors.
pub fn signalfd(set: &SigSet) -> Result<OwnedFd, Errno> {
    // SAFETY: `set.0` is an initialised sigset; -1 asks for a new descriptor.
    let fd = unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(last_errno());
    }
    // SAFETY: the kernel just created this descriptor for us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Take one signal from a signalfd: its number, or `None` when none is
/// pending.
pub fn read_signalfd(fd: BorrowedFd<'_>) -> Option<c_int> {
    let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
    // SAFETY: `info` is writable storage of exactly the size the kernel
    // writes per signal.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            info.as_mut_ptr().cast(),
            core::mem::size_of::<libc::signalfd_siginfo>(),
        )
    };
    if n as usize != core::mem::size_of::<libc::signalfd_siginfo>() {
        return None;
    }
    // SAFETY: the kernel filled the whole struct (checked above).
    Some(unsafe { info.assume_init() }.ssi_signo as c_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number_as_kill_takes_them() {
        assert_eq!(parse(b"KILL"), Some(9));
        assert_eq!(parse(b"SIGTERM"), Some(15));
        assert_eq!(parse(b"sigkill"), Some(9));
        assert_eq!(parse(b"hup"), Some(1));
        assert_eq!(parse(b"Winch"), Some(libc::SIGWINCH));
        assert_eq!(parse(b"10"), Some(10));
        assert_eq!(parse(b"64"), Some(64));
        for refused in [
            &b"0"[..],
            b"65",
            b"BOGUS",
            b"SIG",
            b"",
            b"SIGSIGTERM",
            b"-9",
        ] {
            assert_eq!(parse(refused), None, "{}", String::from_utf8_lossy(refused));
        }
    }

    /// Every name reads back as the signal it names, and `name` gives the
    /// first of the aliases.
    #[test]
    fn names_round_trip() {
        for &(known, number) in NAMES {
            assert_eq!(parse(known.as_bytes()), Some(number), "{known}");
            let first = NAMES.iter().find(|(_, n)| *n == number).unwrap().0;
            assert_eq!(name(number), Some(first));
        }
        assert_eq!(name(libc::SIGTERM), Some("TERM"));
        assert_eq!(name(libc::SIGCHLD), Some("CHLD"));
        assert_eq!(name(40), None);
    }
}
