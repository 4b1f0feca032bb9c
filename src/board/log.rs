//! box-init's log: every line goes to /dev/kmsg (kernel timestamps, `dmesg`)
//! and to the console, unless the kernel already echoes kmsg there.

use core::fmt::{self, Write};

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};

use crate::text::Text;

pub struct Log {
    kmsg: Option<OwnedFd>,
    /// Lines written through `kmsg` since it was opened.
    kmsg_lines: u32,
    /// Write to the console ourselves (the kernel does not show our kmsg
    /// lines there, e.g. with `quiet`).
    console: bool,
    /// CLOCK_MONOTONIC at box-init's start, in nanoseconds.
    pub start_ns: u64,
}

/// Priority of box-init's kmsg lines: KERN_INFO.
const LEVEL: u32 = 6;

/// Lines the kernel takes from one open /dev/kmsg before it silently drops
/// the rest for 5 s (DEFAULT_RATELIMIT_BURST, unless `printk.devkmsg=on`).
/// The limit belongs to the open file, so box-init opens it afresh after
/// this many lines: a board starting a dozen containers logs every start.
/// Its own rate is bounded anyway, by the restart backoff.
const KMSG_BURST: u32 = 10;

fn open_kmsg() -> Option<OwnedFd> {
    rustix::fs::open(
        c"/dev/kmsg",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

impl Log {
    /// Open /dev/kmsg (devtmpfs must be mounted) and decide whether to echo
    /// to the console: the kernel prints a kmsg line there when its level is
    /// below console_loglevel, the first field of /proc/sys/kernel/printk.
    pub fn open(start_ns: u64) -> Log {
        let kmsg = open_kmsg();
        let kernel_echoes = kmsg.is_some() && console_loglevel().is_some_and(|l| LEVEL < l);
        Log {
            kmsg,
            kmsg_lines: 0,
            console: !kernel_echoes,
            start_ns,
        }
    }

    /// A log that only writes to stderr (before /dev exists).
    pub fn early(start_ns: u64) -> Log {
        Log {
            kmsg: None,
            kmsg_lines: 0,
            console: true,
            start_ns,
        }
    }

    /// A log that writes nothing.
    pub fn muted() -> Log {
        Log {
            kmsg: None,
            kmsg_lines: 0,
            console: false,
            start_ns: 0,
        }
    }

    pub fn line(&mut self, args: fmt::Arguments<'_>) {
        let mut text = Text::<600>::new();
        let _ = write!(text, "<{LEVEL}>box-init: ");
        let _ = text.write_fmt(args);
        let _ = text.write_str("\n");
        let bytes = text.as_bytes();
        if self.kmsg_lines == KMSG_BURST {
            // Dropping the old file first: no descriptor is added.
            self.kmsg = None;
            self.kmsg = open_kmsg();
            self.kmsg_lines = 0;
            // Without kmsg, the console is where the lines still go.
            self.console |= self.kmsg.is_none();
        }
        if let Some(kmsg) = &self.kmsg {
            // One write is one kmsg record.
            let _ = rustix::io::write(kmsg, bytes);
            self.kmsg_lines += 1;
        }
        if self.console {
            crate::out::write_all(crate::sys::fd::stderr(), &bytes[3..]);
        }
    }

    /// Milliseconds since box-init started, with a tenth.
    pub fn elapsed(&self) -> Elapsed {
        Elapsed(monotonic_ns().saturating_sub(self.start_ns))
    }
}

pub struct Elapsed(u64);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = self.0 / 100_000;
        write!(f, "{}.{} ms", tenths / 10, tenths % 10)
    }
}

pub fn monotonic_ns() -> u64 {
    let t = crate::sys::timing::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

fn console_loglevel() -> Option<u32> {
    let fd = rustix::fs::open(
        c"/proc/sys/kernel/printk",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = rustix::io::read(&fd, &mut buf).ok()?;
    let first = buf[..n].split(|b| b.is_ascii_whitespace()).next()?;
    crate::text::parse_u32(first)
}

/// `log!(log, "…", args)`: one line in box-init's log.
#[macro_export]
macro_rules! log {
    ($log:expr, $($arg:tt)*) => { $log.line(format_args!($($arg)*)) };
}
