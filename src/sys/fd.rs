//! Descriptors: 0-2 kept open, close-on-exec, dup2 onto the standard ones.

use core::ffi::c_long;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::{Errno, FdFlags};

use super::check;

/// Make sure descriptors 0, 1 and 2 are open, on /dev/null if they were
/// closed. A board's PID 1 or a daemon's child may start without them, and
/// then the next descriptor box opens (a pipe, a pidfd) would take their
/// place and be mistaken for standard input or output by a container.
pub fn ensure_standard_fds() {
    for fd in 0..3 {
        // SAFETY: fcntl(F_GETFD) only asks whether the number is open; the
        // borrowed descriptor is not used for anything else.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        if rustix::io::fcntl_getfd(fd) == Err(Errno::BADF) {
            // open() takes the lowest free number, which is this one; the
            // descriptor must stay open for the life of the process.
            if let Ok(null) = rustix::fs::open(c"/dev/null", OFlags::RDWR, Mode::empty()) {
                core::mem::forget(null);
            }
        }
    }
}

/// Set or clear close-on-exec on a descriptor.
pub fn set_cloexec(fd: impl AsFd, on: bool) -> Result<(), Errno> {
    let flags = if on {
        FdFlags::CLOEXEC
    } else {
        FdFlags::empty()
    };
    rustix::io::fcntl_setfd(fd, flags)
}

/// Standard output. [`ensure_standard_fds`] runs first thing in `main`, so
/// descriptors 0-2 are open for the life of the process.
pub fn stdout() -> BorrowedFd<'static> {
    // SAFETY: fd 1 is open from start-up to exit (ensure_standard_fds), and
    // box never closes it.
    unsafe { BorrowedFd::borrow_raw(1) }
}

/// Standard input; see [`stdout`].
pub fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is open from start-up to exit (ensure_standard_fds), and
    // box never closes it.
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// Standard error; see [`stdout`].
pub fn stderr() -> BorrowedFd<'static> {
    // SAFETY: fd 2 is open from start-up to exit (ensure_standard_fds), and
    // box never closes it.
    unsafe { BorrowedFd::borrow_raw(2) }
}

/// Mark every descriptor from `first` up close-on-exec: close_range with
/// CLOSE_RANGE_CLOEXEC (5.11+), else a walk over /proc/self/fd.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    match close_range_cloexec(first) {
        Err(Errno::NOSYS | Errno::INVAL) => {}
        other => return other,
    }
    let dir = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(entry) = entries.next() {
        let Some(fd) = crate::text::parse_u32(entry?.file_name().to_bytes()) else {
            continue;
        };
        if fd >= first {
            // SAFETY: borrowed only to set FD_CLOEXEC on a number from our
            // own descriptor table; a number that is gone gives EBADF.
            let fd = unsafe { BorrowedFd::borrow_raw(fd as i32) };
            let _ = set_cloexec(fd, true);
        }
    }
    Ok(())
}

/// One of the standard descriptors. They are open for the life of the
/// process ([`ensure_standard_fds`] runs first thing in `main`) and no
/// `OwnedFd` holds them, so one can be replaced by dup2 without closing
/// anything that anyone owns, and borrowed for good ([`stdout`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StdFd {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl StdFd {
    pub const ALL: [StdFd; 3] = [StdFd::Stdin, StdFd::Stdout, StdFd::Stderr];
}

/// dup2(2): make standard descriptor `target` a copy of `fd` (a console,
/// /dev/null, a log pipe). Only 0-2 can be named: any other number may be a
/// descriptor an `OwnedFd` elsewhere holds, which dup2 would close.
pub fn dup_onto(fd: BorrowedFd<'_>, target: StdFd) -> Result<(), Errno> {
    // SAFETY: `target` is 0, 1 or 2, which no OwnedFd holds (see StdFd);
    // the OwnedFd made here only names dup2's destination and is never
    // dropped (ManuallyDrop), so nothing is closed behind an owner's back.
    let mut dest = core::mem::ManuallyDrop::new(unsafe {
        <OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(target as i32)
    });
    rustix::io::dup2(fd, &mut dest)
}

/// `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)` (5.11+): every descriptor
/// from `first` up is closed at the next execve, none now. The closing form
/// of close_range is not offered: it would close descriptors that `OwnedFd`s
/// elsewhere in box still hold.
fn close_range_cloexec(first: u32) -> Result<(), Errno> {
    // CLOSE_RANGE_CLOEXEC from <linux/close_range.h>, which linux-raw-sys lacks.
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: plain integers; with CLOSE_RANGE_CLOEXEC the kernel only sets
    // a flag on each descriptor and closes none.
    check(unsafe {
        libc::syscall(
            linux_raw_sys::general::__NR_close_range as c_long,
            first as c_long,
            // max_fd is an unsigned int: ~0 in the 32 bits the kernel reads,
            // whether c_long is 32 bits (arm) or 64.
            u32::MAX as c_long,
            CLOSE_RANGE_CLOEXEC as c_long,
        )
    })
    .map(drop)
}
