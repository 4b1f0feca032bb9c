//! The watchdog device's ioctls (Documentation/watchdog/watchdog-api.rst).
//! Feeding and the magic close are plain writes, done by the caller.

use core::ffi::c_int;

use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::ioctl::{Opcode, Updater};

const WDIOC_SETTIMEOUT: Opcode = linux_raw_sys::ioctl::WDIOC_SETTIMEOUT as Opcode;

/// WDIOC_SETTIMEOUT: ask for a timeout of `seconds`; returns the timeout
/// the driver really set (it may round to what its hardware counts).
pub fn set_timeout(fd: BorrowedFd<'_>, seconds: u32) -> Result<u32, Errno> {
    let mut value: c_int = seconds.min(c_int::MAX as u32) as c_int;
    // SAFETY: WDIOC_SETTIMEOUT reads an int and writes the timeout it set
    // back into the same int; `value` is a live, writable c_int.
    unsafe { rustix::ioctl::ioctl(fd, Updater::<WDIOC_SETTIMEOUT, c_int>::new(&mut value))? };
    Ok(value.max(0) as u32)
}
