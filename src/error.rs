//! The one error type of box. It is `Copy` and allocation-free, so the
//! container child can build one after `clone` and send it to the parent.
//!
//! Its Display is the line the user sees after `box: APPLET: `:
//! `STEP: SYSCALL(PATH): ERRNO TEXT (HINT)`, or for bad input just the message.

use core::fmt;
use rustix::io::Errno;

use crate::text::Text;

/// Exit status for box's own failures (DESIGN.md section 2).
pub const EXIT_BOX: u8 = 125;
/// The command exists but could not be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

#[derive(Clone, Copy)]
pub struct Error {
    /// What box was doing, in words ("mount /proc", "switch into the rootfs").
    step: &'static str,
    /// The syscall that failed, or "" for an error that is not a syscall's.
    call: &'static str,
    /// The path or value involved; for messages without a syscall, the text.
    subject: Text<320>,
    errno: Option<Errno>,
    /// What the user can do about it, or the likely cause.
    hint: &'static str,
    /// Exit status this error maps to.
    pub code: u8,
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// A failed syscall: `step: call(subject): strerror`.
    pub fn sys(step: &'static str, call: &'static str, subject: &[u8], errno: Errno) -> Self {
        Self {
            step,
            call,
            subject: Text::from_bytes_lossy(subject),
            errno: Some(errno),
            hint: "",
            code: EXIT_BOX,
        }
    }

    /// Bad input or a refused request, with a formatted message.
    pub fn msg(args: fmt::Arguments<'_>) -> Self {
        let mut subject = Text::new();
        let _ = fmt::Write::write_fmt(&mut subject, args);
        Self {
            step: "",
            call: "",
            subject,
            errno: None,
            hint: "",
            code: EXIT_BOX,
        }
    }

    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.step.is_empty() {
            f.write_str(self.step)?;
            f.write_str(": ")?;
        }
        if self.call.is_empty() {
            self.subject.fmt(f)?;
        } else {
            write!(f, "{}({})", self.call, self.subject)?;
        }
        if let Some(errno) = self.errno {
            write!(f, ": {}", ErrnoText(errno))?;
        }
        if !self.hint.is_empty() {
            write!(f, " ({})", self.hint)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Build an [`Error::msg`] with format arguments.
#[macro_export]
macro_rules! bad {
    ($($arg:tt)*) => { $crate::error::Error::msg(format_args!($($arg)*)) };
}

/// `strerror` text, from box's own table: the C library's `strerror` may
/// take locale locks, which the container child must not touch.
pub struct ErrnoText(pub Errno);

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.0 {
            Errno::PERM => "Operation not permitted",
            Errno::NOENT => "No such file or directory",
            Errno::SRCH => "No such process",
            Errno::INTR => "Interrupted system call",
            Errno::IO => "Input/output error",
            Errno::NXIO => "No such device or address",
            Errno::TOOBIG => "Argument list too long",
            Errno::NOEXEC => "Exec format error",
            Errno::BADF => "Bad file descriptor",
            Errno::CHILD => "No child processes",
            Errno::AGAIN => "Resource temporarily unavailable",
            Errno::NOMEM => "Cannot allocate memory",
            Errno::ACCESS => "Permission denied",
            Errno::FAULT => "Bad address",
            Errno::NOTBLK => "Block device required",
            Errno::BUSY => "Device or resource busy",
            Errno::EXIST => "File exists",
            Errno::XDEV => "Invalid cross-device link",
            Errno::NODEV => "No such device",
            Errno::NOTDIR => "Not a directory",
            Errno::ISDIR => "Is a directory",
            Errno::INVAL => "Invalid argument",
            Errno::NFILE => "Too many open files in system",
            Errno::MFILE => "Too many open files",
            Errno::NOTTY => "Inappropriate ioctl for device",
            Errno::TXTBSY => "Text file busy",
            Errno::FBIG => "File too large",
            Errno::NOSPC => "No space left on device",
            Errno::SPIPE => "Illegal seek",
            Errno::ROFS => "Read-only file system",
            Errno::MLINK => "Too many links",
            Errno::PIPE => "Broken pipe",
            Errno::RANGE => "Numerical result out of range",
            Errno::DEADLK => "Resource deadlock avoided",
            Errno::NAMETOOLONG => "File name too long",
            Errno::NOSYS => "Function not implemented",
            Errno::NOTEMPTY => "Directory not empty",
            Errno::LOOP => "Too many levels of symbolic links",
            Errno::NOTSUP => "Operation not supported",
            Errno::ADDRINUSE => "Address already in use",
            Errno::NETDOWN => "Network is down",
            Errno::TIMEDOUT => "Connection timed out",
            Errno::CONNREFUSED => "Connection refused",
            Errno::STALE => "Stale file handle",
            Errno::DQUOT => "Disk quota exceeded",
            Errno::CANCELED => "Operation canceled",
            Errno::OWNERDEAD => "Owner died",
            Errno::USERS => "Too many users",
            _ => return write!(f, "errno {}", self.0.raw_os_error()),
        };
        f.write_str(text)
    }
}

/// Shorthand for turning a rustix result into an [`Error`] naming the step,
/// the syscall and the path.
pub trait Context<T> {
    fn at(self, step: &'static str, call: &'static str, subject: &[u8]) -> Result<T>;
}

impl<T> Context<T> for core::result::Result<T, Errno> {
    fn at(self, step: &'static str, call: &'static str, subject: &[u8]) -> Result<T> {
        self.map_err(|e| Error::sys(step, call, subject, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Text;
    use core::fmt::Write;

    fn show(e: &Error) -> Text<512> {
        let mut t = Text::new();
        write!(t, "{e}").unwrap();
        t
    }

    #[test]
    fn syscall_errors_name_step_call_path_errno_and_hint() {
        let e = Error::sys(
            "switch into the rootfs",
            "pivot_root",
            b"/srv/web",
            Errno::INVAL,
        )
        .hint("a parent mount is shared");
        assert_eq!(
            show(&e).as_bytes(),
            b"switch into the rootfs: pivot_root(/srv/web): Invalid argument (a parent mount is shared)"
        );
        assert_eq!(e.code, EXIT_BOX);
    }

    #[test]
    fn messages_are_just_text() {
        let e = bad!("--memory {}: unknown suffix", "12Q");
        assert_eq!(show(&e).as_bytes(), b"--memory 12Q: unknown suffix");
    }
}
