//! The calls rustix leaves out on purpose, in one place: process creation
//! (clone3, clone), execve, _exit, signal masks and dispositions, and the few
//! new syscalls it has no wrapper for (close_range, mount_setattr, seccomp),
//! and getcwd, which it offers only with an allocating buffer.
//! Constants and structs come from linux-raw-sys; `libc` supplies only the
//! syscall entry and errno.
//!
//! Everything here is safe to call in the container child between `clone`
//! and `execve`: no allocation, no locks.

use core::ffi::{CStr, c_char, c_int, c_long};
use core::mem::MaybeUninit;

use linux_raw_sys::general as k;
use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use rustix::io::Errno;

fn last_errno() -> Errno {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the life of the thread.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret < 0 { Err(last_errno()) } else { Ok(ret) }
}

/// What `clone` returned in this process.
pub enum Forked {
    /// We are the new process.
    Child,
    /// We are the caller; the child has this PID and, when the kernel gave
    /// one, this pidfd.
    Parent { pid: i32, pidfd: Option<OwnedFd> },
}

/// `clone3(2)` without CLONE_VM: like fork, the child runs on a copy of the
/// caller's stack and returns here.
///
/// # Safety
/// The caller must be single-threaded, and the child must only make raw
/// syscalls (no allocation, no locks held by other threads) until it calls
/// [`execve`] or [`exit_now`].
pub unsafe fn clone3(args: &mut k::clone_args) -> Result<Forked, Errno> {
    let mut pidfd: c_int = -1;
    if args.flags & u64::from(k::CLONE_PIDFD) != 0 {
        args.pidfd = (&raw mut pidfd) as u64;
    }
    // SAFETY: `args` is a valid clone_args of the size passed, `pidfd` lives
    // across the call; without CLONE_VM the child gets its own copy of this
    // stack, so returning in both processes is sound (the contract above
    // covers what the child may do next).
    let ret = check(unsafe {
        libc::syscall(
            k::__NR_clone3 as c_long,
            args as *mut k::clone_args,
            core::mem::size_of::<k::clone_args>(),
        )
    })?;
    Ok(forked(ret, pidfd))
}

/// The old `clone(2)`, for kernels before 5.3. `flags` may hold CLONE_PIDFD
/// (5.2+); the pidfd comes back through the parent_tid argument, which is the
/// third on every architecture.
///
/// # Safety
/// As for [`clone3`].
pub unsafe fn clone_legacy(flags: u64, exit_signal: u64) -> Result<Forked, Errno> {
    let mut pidfd: c_int = -1;
    // SAFETY: stack 0 means the child continues on a copy of ours (no
    // CLONE_VM); `pidfd` is a valid c_int for the kernel to fill; tls and
    // child_tid are unused without CLONE_SETTLS / CLONE_CHILD_*TID.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | exit_signal) as c_long,
            0 as c_long,
            &raw mut pidfd,
            0 as c_long,
            0 as c_long,
        )
    })?;
    Ok(forked(ret, pidfd))
}

fn forked(ret: c_long, pidfd: c_int) -> Forked {
    if ret == 0 {
        return Forked::Child;
    }
    // A pidfd may legitimately be 0 when box was started with stdin closed:
    // only a negative value means "none".
    let pidfd = (pidfd >= 0).then(|| {
        // SAFETY: the kernel just created this descriptor for us and nothing
        // else owns it.
        unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) }
    });
    Forked::Parent {
        pid: ret as i32,
        pidfd,
    }
}

/// `execve(2)`. Returns only on failure.
pub fn execve(path: &CStr, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: `path` is a valid C string; `argv` and `envp` are
    // NULL-terminated arrays of valid C strings, built by the caller before
    // clone (see container::plan) or taken from the process's own argv.
    unsafe { libc::execve(path.as_ptr(), argv, envp) };
    last_errno()
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: execute the file behind
/// `fd` (box's sealed copy, src/sys/exe.rs). Returns only on failure.
pub fn execveat_fd(
    fd: BorrowedFd<'_>,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: `fd` is a valid descriptor borrowed for the call, the path is
    // an empty C string, argv/envp are NULL-terminated arrays of C strings
    // built before clone.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd() as c_long,
            c"".as_ptr(),
            argv,
            envp,
            k::AT_EMPTY_PATH as c_long,
        )
    };
    last_errno()
}

/// `_exit(2)`: leave now, without running atexit handlers or flushing stdio
/// buffers that belong to the parent's copy of memory.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: `_exit` has no preconditions and does not return.
    unsafe { libc::_exit(c_int::from(code)) }
}

/// `close_range(2)` (5.9+; CLOSE_RANGE_CLOEXEC 5.11+).
pub fn close_range(first: u32, last: u32, cloexec: bool) -> Result<(), Errno> {
    // CLOSE_RANGE_CLOEXEC from <linux/close_range.h>, which linux-raw-sys lacks.
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    let flags = if cloexec { CLOSE_RANGE_CLOEXEC } else { 0 };
    // SAFETY: plain integers; closing descriptors is the intent, and the
    // callers own every descriptor in the range.
    check(unsafe {
        libc::syscall(
            k::__NR_close_range as c_long,
            first as c_long,
            last as c_long,
            flags as c_long,
        )
    })
    .map(drop)
}

/// `getcwd(2)` into `buf`: the working directory, without its NUL. The
/// kernel's answer is refused unless it starts with `/`: a directory out of
/// the process's root comes back as "(unreachable)/…", and a removed one
/// fails with ENOENT.
pub fn getcwd(buf: &mut [u8]) -> Result<&[u8], Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which
    // is valid and exclusively borrowed for the call.
    let len =
        check(unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len() as c_long) })?
            as usize;
    // The length counts the NUL.
    match buf.get(..len.saturating_sub(1)) {
        Some(path) if path.starts_with(b"/") => Ok(path),
        _ => Err(Errno::NOENT),
    }
}

/// `mount_setattr(2)` (5.12+): set mount attributes (MOUNT_ATTR_RDONLY for
/// `--read-only`) on the mount at `dirfd`/`path`, with `recursive` on the
/// whole subtree at once. An empty `path` means `dirfd` itself.
pub fn mount_setattr(
    dirfd: Option<BorrowedFd<'_>>,
    path: &CStr,
    recursive: bool,
    attr_set: u64,
) -> Result<(), Errno> {
    let attr = k::mount_attr {
        attr_set,
        attr_clr: 0,
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
    let ts = timeout_ms.map(|ms| libc::timespec {
        tv_sec: (ms / 1000) as _,
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

/// Install a seccomp filter (`prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`).
/// The caller sets no_new_privs first, or holds CAP_SYS_ADMIN.
pub fn seccomp_filter(program: &[linux_raw_sys::ptrace::sock_filter]) -> Result<(), Errno> {
    let prog = linux_raw_sys::ptrace::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut _,
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the kernel
    // copies the filter before returning.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            linux_raw_sys::ptrace::SECCOMP_SET_MODE_FILTER as c_long,
            0 as c_long,
            &raw const prog,
        )
    })
    .map(drop)
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
