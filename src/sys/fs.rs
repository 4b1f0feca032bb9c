//! Files and directories: the working directory (which rustix gives only
//! into an allocating buffer), and small files read whole (sysctls, /proc
//! settings).

use core::ffi::{CStr, c_long};

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::check;

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

/// Whether the file at `path` (a sysctl, a /proc setting) exists and holds
/// `value`, give or take a newline.
pub fn file_holds(path: &CStr, value: &[u8]) -> bool {
    let Ok(fd) = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    let mut buf = [0u8; 16];
    match rustix::io::read(&fd, &mut buf) {
        Ok(n) => buf[..n].trim_ascii_end() == value,
        Err(_) => false,
    }
}

/// Open directory `path` as a handle (O_PATH): to change into it later, or
/// to resolve paths from it, without the right to read it.
pub fn open_dir(path: &CStr) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}
