//! Entering a running container from outside: the steps `box exec` and
//! `box-oci exec` share. Read what the container is (its namespaces, root,
//! cgroups) through /proc/PID on this side, then join it in that order, and
//! execute the command there.

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

use crate::bad;
use crate::config::NAMESPACES;
use crate::container::child;
use crate::error::{Context, EXIT_NOT_FOUND, Error, Result};
use crate::sys::{exec, ns};
use crate::text::{Bytes, CPath};

/// In the child: execute `program` with `argv` and `envp`, searched in
/// `path` (the container's PATH) when it has no slash. Returns only on
/// failure, with the exit status DESIGN.md gives.
pub fn exec_command(
    program: &core::ffi::CStr,
    argv: exec::Argv<'_>,
    envp: exec::Envp<'_>,
    path: &[u8],
) -> Error {
    let (errno, tried) = exec::exec_search(program, argv, envp, path);
    if errno == Errno::NOENT && !program.to_bytes().contains(&b'/') {
        bad!(
            "start the command: {}: not found in the container's PATH",
            Bytes(program.to_bytes())
        )
        .with_code(EXIT_NOT_FOUND)
    } else {
        child::exec_error(tried.as_bytes(), errno)
    }
}

/// `/proc/PID` and `file`.
pub fn proc_file(pid: u32, file: &[u8]) -> CPath {
    CPath::proc(Some(pid), file)
}

/// The namespace types in which process `pid` differs from this one.
pub fn differing_namespaces(pid: u32) -> u32 {
    let mut flags = 0;
    for namespace in NAMESPACES {
        let theirs = ns::link_path(Some(pid), namespace.proc_name);
        let ours = ns::link_path(None, namespace.proc_name);
        let (Ok(a), Ok(b)) = (
            ns::open_file(theirs.as_cstr()),
            ns::open_file(ours.as_cstr()),
        ) else {
            continue;
        };
        if ns::identity(a.as_fd()) != ns::identity(b.as_fd()) {
            flags |= namespace.flag;
        }
    }
    flags
}

/// Process `pid`'s root (`file` b"/root"), working directory (b"/cwd") or
/// /proc/PID itself (b""), as an O_PATH descriptor, opened from this side.
pub fn open_proc_dir(pid: u32, file: &[u8]) -> Result<OwnedFd> {
    let path = proc_file(pid, file);
    rustix::fs::open(
        path.as_cstr(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(
        packed!("open the container's directory"),
        "open",
        path.as_bytes(),
    )
}

/// Enter the namespaces `flags` of process `pid`: all at once through its
/// pidfd, else (before Linux 5.8) one file at a time, user namespace first.
pub fn join_namespaces(pid: Pid, pidfd: Option<&OwnedFd>, flags: u32) -> Result<()> {
    if let Some(pidfd) = pidfd {
        match ns::join_process(pidfd.as_fd(), flags) {
            Ok(()) => return Ok(()),
            // Before 5.8 a pidfd is not accepted by setns.
            Err(Errno::INVAL) => {}
            Err(e) => {
                return Err(Error::sys(
                    packed!("enter the container"),
                    "setns",
                    b"pidfd",
                    e,
                ));
            }
        }
    }
    // NAMESPACES' order puts the user namespace first.
    let raw_pid = pid.as_raw_nonzero().get() as u32;
    for namespace in NAMESPACES.iter().filter(|n| flags & n.flag != 0) {
        let path = ns::link_path(Some(raw_pid), namespace.proc_name);
        let fd = ns::open_file(path.as_cstr()).at(
            packed!("enter the container"),
            "open",
            path.as_bytes(),
        )?;
        ns::join_file(fd.as_fd(), namespace.flag).at(
            packed!("enter the container"),
            "setns",
            path.as_bytes(),
        )?;
    }
    Ok(())
}

/// Make `root` (from [`open_proc_dir`]) this process's root and working
/// directory: after the mount namespace is joined, so that it resolves
/// there.
pub fn enter_root(root: &OwnedFd) -> Result<()> {
    rustix::process::fchdir(root).at(packed!("enter the container's root"), "fchdir", b"/")?;
    rustix::process::chroot(c".").at(packed!("enter the container's root"), "chroot", b"/")
}

/// Each cgroup.procs of process `pid`'s groups, in every hierarchy where
/// its group differs from this process's (from /proc/PID/cgroup).
pub fn for_each_other_cgroup(pid: Pid, mut each: impl FnMut(&CPath) -> Result<()>) -> Result<()> {
    let path = proc_file(pid.as_raw_nonzero().get() as u32, b"/cgroup");
    let mut theirs = [0u8; 2048];
    let n = crate::sys::fs::read_into(path.as_cstr(), &mut theirs).at(
        packed!("read the container's cgroups"),
        "read",
        path.as_bytes(),
    )?;
    let mut ours = [0u8; 2048];
    let m = crate::sys::fs::read_into(c"/proc/self/cgroup", &mut ours).unwrap_or(0);
    for line in theirs[..n].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if ours[..m].split(|&b| b == b'\n').any(|l| l == line) {
            continue;
        }
        if let Some(procs) = crate::cgroup::procs_file_for(line) {
            each(&procs)?;
        }
    }
    Ok(())
}

/// Make this process, and the children it clones, non-dumpable (see
/// `seal` in src/applet/exec.rs): out of reach of ptrace and /proc/PID/{environ,mem,fd,exe}
/// for anyone without CAP_SYS_PTRACE, until they execute something.
pub fn make_undumpable() -> Result<()> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable).at(
        packed!("make the command unreachable from the container"),
        "prctl(PR_SET_DUMPABLE)",
        b"0",
    )
}
