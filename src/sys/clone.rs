//! Process creation: clone3(2), or clone(2) on kernels before 5.3, without
//! CLONE_VM, so the child runs on a copy of the caller's memory, as after
//! fork.

use core::ffi::{c_int, c_long, c_ulong};

use linux_raw_sys::general as k;
use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use rustix::io::Errno;

use super::check;

/// What `clone` returned in this process.
enum Forked {
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
/// `args` asks for no stack and for none of CLONE_VM, CLONE_SETTLS,
/// CLONE_CHILD_SETTID or CLONE_CHILD_CLEARTID: the child must return on its
/// own copy of this stack, sharing no memory with the caller.
unsafe fn clone3(args: &mut k::clone_args) -> Result<Forked, Errno> {
    let mut pidfd: c_int = -1;
    if args.flags & u64::from(k::CLONE_PIDFD) != 0 {
        args.pidfd = (&raw mut pidfd) as u64;
    }
    // SAFETY: `args` is a valid clone_args of the size passed, `pidfd` lives
    // across the call; without CLONE_VM or a stack (the contract above) the
    // child gets its own copy of this stack, so returning in both
    // processes is sound.
    let ret = check(unsafe {
        libc::syscall(
            k::__NR_clone3 as c_long,
            args as *mut k::clone_args,
            core::mem::size_of::<k::clone_args>(),
        )
    })?;
    Ok(forked(ret, pidfd))
}

/// The old `clone(2)`, for kernels before 5.3 (and where a seccomp policy
/// answers clone3 with ENOSYS). `flags` may hold CLONE_PIDFD (5.2+); the
/// pidfd comes back through the parent_tid argument. The argument order
/// differs between architectures (x86_64: flags, stack, parent_tid,
/// child_tid, tls; arm and aarch64: flags, stack, parent_tid, tls,
/// child_tid), but parent_tid is the third on every one box is built for,
/// and the two that trade places are both 0 here.
///
/// The kernel reads only the low 32 bits of clone's flags (an `unsigned
/// long`, itself 32 bits on arm); the flags above (CLONE_CLEAR_SIGHAND,
/// CLONE_INTO_CGROUP) are clone3's alone. They are refused with EINVAL
/// here rather than dropped in silence.
///
/// # Safety
/// As for [`clone3`]: `flags` holds none of CLONE_VM, CLONE_SETTLS or the
/// CLONE_CHILD_*TID flags.
unsafe fn clone_legacy(flags: u64, exit_signal: u64) -> Result<Forked, Errno> {
    let flags = flags | exit_signal;
    if flags > u64::from(u32::MAX) {
        return Err(Errno::INVAL);
    }
    let mut pidfd: c_int = -1;
    // SAFETY: stack 0 means the child continues on a copy of ours (no
    // CLONE_VM, by the contract above); `pidfd` is a valid c_int for the
    // kernel to fill; tls and child_tid are unused without CLONE_SETTLS /
    // CLONE_CHILD_*TID.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_clone,
            // Every argument of the variadic syscall() is a machine word:
            // a u64 would take two registers on arm and shift the rest.
            flags as c_ulong,
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

/// clone3's arguments for a fork: no stack, no TLS, no thread ids.
fn fork_args(flags: u64, exit_signal: u64) -> k::clone_args {
    k::clone_args {
        flags,
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
    }
}

/// The process that `clone` made, seen from the caller.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
}

impl Spawned {
    /// The child's PID (clone never answers 0 or less on success).
    pub fn process(&self) -> crate::error::Result<rustix::process::Pid> {
        rustix::process::Pid::from_raw(self.pid)
            .ok_or_else(|| crate::bad!("clone returned PID {}", self.pid))
    }
}

/// Create a process with `flags` (namespace flags, CLONE_INTO_CGROUP with
/// `cgroup`) and run `child` in it. clone3 with CLONE_PIDFD; clone on kernels
/// without clone3 (ENOSYS, before 5.3, or a seccomp policy that answers
/// ENOSYS); without CLONE_PIDFD before 5.2. On failure, the syscall's name.
///
/// `child` runs in a copy of this process and must not return. It must not
/// allocate or take locks either (the copy holds whatever state the parent's
/// allocator and locks were in): it makes raw syscalls and ends in execve or
/// _exit. Debug builds check that it does not allocate
/// (src/sys/alloc_check.rs). Memory is not shared (namespace flags only),
/// so nothing the child does reaches the caller's.
#[allow(unreachable_code)]
pub fn spawn(
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
    exit_signal: u64,
    child: impl FnOnce() -> core::convert::Infallible,
) -> Result<Spawned, (&'static str, Errno)> {
    match fork(flags, cgroup, exit_signal)? {
        // `child` returns an uninhabited type: it never comes back here.
        None => {
            super::alloc_check::enter_clone_child();
            match child() {}
        }
        Some(spawned) => Ok(spawned),
    }
}

/// [`spawn`]'s clone, one copy for every caller (`spawn` is generic over
/// the child): `None` in the new process, which returns here on its own
/// copy of the stack, as it returns from [`clone3`].
#[inline(never)]
fn fork(
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
    exit_signal: u64,
) -> Result<Option<Spawned>, (&'static str, Errno)> {
    // Only namespace flags: any other could share memory, descriptors or
    // the root with the child (CLONE_VM, CLONE_FILES, CLONE_FS…), where
    // the child's drops and chdirs would act on the caller's.
    const NAMESPACES: u64 = (k::CLONE_NEWNS
        | k::CLONE_NEWUTS
        | k::CLONE_NEWIPC
        | k::CLONE_NEWPID
        | k::CLONE_NEWNET
        | k::CLONE_NEWUSER
        | k::CLONE_NEWCGROUP
        | k::CLONE_NEWTIME) as u64;
    if flags & !NAMESPACES != 0 {
        return Err(("clone3", Errno::INVAL));
    }
    let mut args = fork_args(flags | u64::from(k::CLONE_PIDFD), exit_signal);
    if let Some(fd) = cgroup {
        args.flags |= k::CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: `flags` holds namespace flags only (checked above), with
    // CLONE_PIDFD and CLONE_INTO_CGROUP, and no stack is given.
    let forked = match unsafe { clone3(&mut args) } {
        Err(Errno::NOSYS) if cgroup.is_none() => {
            // SAFETY: as above.
            match unsafe { clone_legacy(flags | u64::from(k::CLONE_PIDFD), exit_signal) } {
                // CLONE_PIDFD arrived in 5.2: without it, go by PID.
                // SAFETY: as above.
                Err(Errno::INVAL) => unsafe { clone_legacy(flags, exit_signal) },
                other => other,
            }
            .map_err(|e| ("clone", e))?
        }
        other => other.map_err(|e| ("clone3", e))?,
    };
    Ok(match forked {
        Forked::Child => None,
        Forked::Parent { pid, pidfd } => Some(Spawned { pid, pidfd }),
    })
}

/// `clone3(CLONE_PARENT)` (clone(2) where there is no clone3): a copy of
/// this process, as fork makes, whose parent is this process's parent, so
/// that it is that process's child to wait for and reap. Returns 0 in the
/// new process, its PID (in the caller's PID namespace) in the caller.
///
/// For the container child whose init must start in a PID namespace it
/// made itself after joining a user namespace (src/container/child.rs):
/// unshare(CLONE_NEWPID) only places the caller's later children there.
/// The new process runs on a copy of this one's memory, under the same
/// rules as [`spawn`]'s child (no allocation, no locks). The kernel
/// refuses CLONE_PARENT to the init of a PID namespace (EINVAL).
pub fn fork_sibling() -> Result<i32, Errno> {
    let flags = u64::from(k::CLONE_PARENT);
    // clone3 takes no exit signal with CLONE_PARENT: the new process gets
    // the caller's own (SIGCHLD for a container child).
    let mut args = fork_args(flags, 0);
    // SAFETY: CLONE_PARENT alone, no stack: the new process continues on
    // its own copy of this stack, sharing no memory with the caller.
    let forked = match unsafe { clone3(&mut args) } {
        // SAFETY: as above.
        Err(Errno::NOSYS) => unsafe { clone_legacy(flags, 0) }?,
        other => other?,
    };
    Ok(match forked {
        Forked::Child => 0,
        Forked::Parent { pid, .. } => pid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fd::AsFd;

    use crate::sys::exec::exit_now;
    use crate::sys::fd::{StdFd, dup_onto};

    /// Spawn a child that runs `body` with its standard error on /dev/null,
    /// then exits 0; its exit status.
    fn status_of_child(body: fn()) -> u8 {
        let null = rustix::fs::open(
            c"/dev/null",
            rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let sigchld = linux_raw_sys::general::SIGCHLD as u64;
        let spawned = spawn(0, None, sigchld, || {
            let _ = dup_onto(null.as_fd(), StdFd::Stderr);
            body();
            exit_now(0)
        })
        .unwrap();
        let pid = rustix::process::Pid::from_raw(spawned.pid).unwrap();
        crate::sys::process::reap(pid).unwrap()
    }

    /// The check of src/sys/alloc_check.rs: a spawned child that allocates
    /// is killed (128 + SIGKILL), one that makes only syscalls is not.
    #[test]
    #[cfg_attr(
        not(debug_assertions),
        ignore = "the allocation check is in debug builds only"
    )]
    fn a_spawned_child_that_allocates_is_killed() {
        assert_eq!(status_of_child(|| {}), 0);
        assert_eq!(
            status_of_child(|| drop(core::hint::black_box(vec![0u8; 64]))),
            137
        );
        assert_eq!(
            status_of_child(|| {
                let _ = rustix::process::getpid();
            }),
            0
        );
    }

    #[test]
    fn flags_that_share_memory_or_descriptors_are_refused() {
        use linux_raw_sys::general as k;
        for flag in [k::CLONE_VM, k::CLONE_FILES, k::CLONE_FS, k::CLONE_THREAD] {
            let spawned = spawn(u64::from(flag), None, 0, || exit_now(0));
            assert_eq!(spawned.err(), Some(("clone3", Errno::INVAL)));
        }
    }
}
