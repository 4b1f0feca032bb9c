//! The kernel interface, one facility per file. The only place where
//! `unsafe` is allowed; every block says why it is sound.
//!
//! rustix first; the calls it leaves out on purpose (clone3 and clone,
//! execve, `_exit`, signal masks and dispositions, seccomp, close_range,
//! mount_setattr, getcwd without an allocating buffer) are made here through
//! `libc`'s syscall entry, with constants and structs from linux-raw-sys.
//! `libc` is used nowhere else.

#![allow(unsafe_code)]

pub mod caps;
pub mod clone;
pub mod entry;
pub mod exe;
pub mod exec;
pub mod fd;
pub mod fs;
pub mod mount;
pub mod mount_point;
pub mod net;
pub mod ns;
pub mod process;
pub mod seccomp;
pub mod signal;

use core::ffi::c_long;

use rustix::io::Errno;

/// errno of the last failed libc call on this thread.
fn last_errno() -> Errno {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the life of the thread.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

/// A raw syscall's return value: negative is failure, with errno set.
fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret < 0 { Err(last_errno()) } else { Ok(ret) }
}
