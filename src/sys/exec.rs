//! Executing a program: execve(2), execveat(2) on a descriptor, a PATH
//! search that allocates nothing, and `_exit(2)` for a child that could not.

use core::ffi::{CStr, c_char, c_int, c_long};

use linux_raw_sys::general as k;
use rustix::fd::{AsRawFd, BorrowedFd};
use rustix::io::Errno;

use super::last_errno;
use crate::text::CPath;

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

/// execve `program`, searching `path` (a PATH value) when the name has no
/// slash, as execvp does but without allocating: ENOENT and ENOTDIR move on,
/// EACCES is remembered (a later directory may still have the file), any
/// other error stops the search. Returns only on failure: the errno and the
/// path it applies to (for "not found in PATH", ENOENT and the bare name).
pub fn exec_search(
    program: &CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
    path: &[u8],
) -> (Errno, CPath) {
    let name = program.to_bytes();
    if name.contains(&b'/') {
        let errno = execve(program, argv, envp);
        return (errno, CPath::from_bytes(name).unwrap_or_default());
    }
    let mut denied: Option<CPath> = None;
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Some(full) = CPath::from_parts(&[dir, b"/", name]) else {
            continue;
        };
        match execve(full.as_cstr(), argv, envp) {
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

/// `_exit(2)`: leave now, without running atexit handlers or flushing stdio
/// buffers that belong to the parent's copy of memory.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: `_exit` has no preconditions and does not return.
    unsafe { libc::_exit(c_int::from(code)) }
}
