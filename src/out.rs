//! Output without std's locked, heap-buffered stdout: a small stack buffer
//! formatted with `core::fmt` and written straight to a descriptor. Safe to use
//! in the container child after `clone` (no locks, no allocation). And how
//! every program ends: its help, or its one error line, and its status.

use core::fmt;
use rustix::fd::{AsFd, BorrowedFd};

use crate::options::{Command, Table, Usage, is_help, write_help};

pub struct Writer<'a> {
    fd: BorrowedFd<'a>,
    buf: [u8; 512],
    len: usize,
}

impl<'a> Writer<'a> {
    pub fn new(fd: BorrowedFd<'a>) -> Self {
        Self {
            fd,
            buf: [0; 512],
            len: 0,
        }
    }

    pub fn flush(&mut self) {
        write_all(self.fd, &self.buf[..self.len]);
        self.len = 0;
    }

    pub fn bytes(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = bytes.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
    }
}

impl fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Write all of `bytes`, retrying short writes and EINTR; other errors
/// (a closed pipe, a full disk) are dropped: there is nowhere to report them.
pub fn write_all(fd: impl AsFd, bytes: &[u8]) {
    let _ = try_write_all(fd, bytes);
}

/// Write all of `bytes`, retrying short writes and EINTR, for files whose
/// content matters: a full disk is an error (ENOSPC), not a short file.
pub fn try_write_all(fd: impl AsFd, mut bytes: &[u8]) -> Result<(), rustix::io::Errno> {
    while !bytes.is_empty() {
        match rustix::io::write(fd.as_fd(), bytes) {
            Ok(0) => return Err(rustix::io::Errno::NOSPC),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Print a line on standard output.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line($crate::sys::fd::stdout(), format_args!($($arg)*))
    };
}

/// Print a line on standard error.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::line($crate::sys::fd::stderr(), format_args!($($arg)*))
    };
}

/// [`outln!`] and [`errln!`]: `args` and a newline on `fd`, in one write
/// where they fit the buffer. One function, not the writer's set-up,
/// formatting and flush repeated at each of some 50 callers.
#[inline(never)]
pub fn line(fd: BorrowedFd<'_>, args: fmt::Arguments<'_>) {
    let mut w = Writer::new(fd);
    let _ = fmt::Write::write_fmt(&mut w, args);
    w.bytes(b"\n");
}

/// The exit status of a program that ended with `result`: its own; or,
/// after its help on standard output, 0 when `--help` was asked for; or
/// its error's, after the error on standard error behind the program's
/// name (`box: stop: …`).
pub fn finish<A>(command: &Command<A>, result: crate::error::Result<u8>) -> u8 {
    match result {
        Ok(code) => code,
        Err(e) => fail(&command.usage, &command.options, e),
    }
}

/// [`finish`]'s failure, one copy for every program's option type.
#[inline(never)]
fn fail(usage: &Usage, options: &dyn Table, e: crate::error::Error) -> u8 {
    if is_help(&e) {
        print_help(usage, options);
        return 0;
    }
    crate::errln!("{}: {e}", usage.prefix());
    e.code
}

/// The help of a program on standard output.
pub fn print_help(usage: &Usage, options: &dyn Table) {
    let mut out = Writer::new(crate::sys::fd::stdout());
    let _ = write_help(&mut out, usage, options);
}
