//! Files and directories: the working directory (which rustix gives only
//! into an allocating buffer), and small files read whole or written in one
//! write (sysctls, /proc settings, cgroup control files).

use core::ffi::{CStr, c_long};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
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

/// Read a small file (/proc, cgroup, sysfs) into `buf`, until its end or
/// until `buf` is full, whichever comes first; the number of bytes read.
pub fn read_into(path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    read_at(rustix::fs::CWD, path, buf)
}

/// [`read_into`], `path` relative to the directory `dir`.
pub fn read_at(dir: BorrowedFd<'_>, path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = rustix::fs::openat(dir, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    read_fd_into(fd.as_fd(), buf)
}

/// [`read_into`] for a file opened already.
pub fn read_fd_into(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Read a whole file into `buf`; EFBIG when it fills `buf` (it may be
/// longer: a cut text is never taken for the whole).
pub fn read_whole(path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    match read_into(path, buf)? {
        n if n == buf.len() => Err(Errno::FBIG),
        n => Ok(n),
    }
}

/// Write `bytes` to a kernel control file (cgroup, /proc, sysctl) in one
/// write: the kernel parses each write on its own.
pub fn write_control(path: &CStr, bytes: &[u8]) -> Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, bytes).map(drop)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_whole_or_cut() {
        let mut buf = [0u8; 64];
        let n = read_whole(c"/proc/self/comm", &mut buf).unwrap();
        assert!(n > 0 && buf[n - 1] == b'\n');
        let mut small = [0u8; 4];
        assert_eq!(
            read_whole(c"/proc/self/mountinfo", &mut small),
            Err(Errno::FBIG)
        );
        assert_eq!(read_into(c"/proc/self/mountinfo", &mut small), Ok(4));
        assert_eq!(read_into(c"/nonexistent", &mut small), Err(Errno::NOENT));
    }
}
