//! The one error type of box. It is a few bytes and allocation-free: `?`
//! moves it in a register, and the container child can build one after
//! `clone` and send it to the parent.
//!
//! Its Display is the line the user sees after `box: APPLET: `:
//! `STEP: SYSCALL(PATH): ERRNO TEXT (HINT)`, or for bad input just the message.
//!
//! An `Error` carries its errno and exit status; its texts (the step, the
//! syscall, the subject of up to 320 bytes, the hint; for a `bad!`
//! message its text and arguments) are kept in one of
//! [`SLOTS`] static slots, which it holds until it is dropped. Carried
//! inline they made every `Result` that fails a 384-byte value, copied at
//! each `?`; a few bytes are returned in registers. Each live `Error` holds
//! its own slot, so errors made while another is pending (a cleanup after a
//! failure, a `.hint()` or `.with_code()` chain, an error built from
//! another's text) never overwrite one another, and the next error reuses
//! the slot of one dropped. The container child after `clone` runs on a
//! copy of box's memory (no CLONE_VM: src/sys/clone.rs), so its slots are
//! its own. A slot is claimed by a compare-and-swap and its bytes are
//! atomics: no lock, no `unsafe`, and the unit tests' threads each get
//! their own slots. The step, the hint and a message's text are packed
//! (src/packed.rs): the slot keeps their place, 4 bytes each, and they are
//! unpacked only when the error is shown.

use core::fmt::{self, Write as _};
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU32, Ordering};
use rustix::io::Errno;

use crate::packed::{Packed, valid_prefix as text};
use crate::text::Bytes;

/// Exit status for box's own failures (DESIGN.md section 2).
pub const EXIT_BOX: u8 = 125;
/// The command exists but could not be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// Longest subject kept; a longer one is cut and shown ending in `…`.
pub const SUBJECT_MAX: usize = 320;
/// Room of a slot: the subject, and the step, syscall and hint (static
/// texts of at most about 150 bytes each).
const ROOM: usize = 1024;
/// Errors that can be alive at once. box holds one or two (one pending
/// while a cleanup makes another); the rest is room for the unit tests'
/// threads. An error made while all are held shows only `…` and its errno.
pub const SLOTS: usize = 16;
/// The slot index of an error without one (all slots were held).
const NO_SLOT: u8 = u8::MAX - 1;

/// A slot index plus one: never 0, which leaves `Result` a niche.
#[derive(Clone, Copy)]
struct Slot1(core::num::NonZeroU8);

impl Slot1 {
    fn new(index: u8) -> Self {
        Self(core::num::NonZeroU8::MIN.saturating_add(index))
    }

    fn index(self) -> u8 {
        self.0.get() - 1
    }
}

/// The texts of an error kept in its slot's room, each a span of it.
#[derive(Clone, Copy)]
enum Field {
    /// A step given as text ([`Error::sys_named`]), not packed.
    Step,
    Call,
    Subject,
}

/// The packed texts of an error, kept as their place in the corpus and
/// unpacked only when the error is shown.
#[derive(Clone, Copy)]
enum Kept {
    Step,
    Message,
    Hint,
}

/// Most arguments a [`Message`] takes.
pub const MESSAGE_ARGS: usize = 8;

/// One error's texts. Zero-initialised, so the table is in .bss: no bytes
/// in the file, and only the pages of slots ever used are touched.
struct Slot {
    held: AtomicBool,
    /// The subject was cut at [`SUBJECT_MAX`].
    cut: AtomicBool,
    /// Bytes of `room` in use.
    used: AtomicU16,
    /// Each field's span: start << 16 | length.
    spans: [AtomicU32; 3],
    /// Each packed text's [`Packed::bits`] (0: none).
    kept: [AtomicU32; 3],
    /// Where each argument of a message ends in the subject.
    ends: [AtomicU16; MESSAGE_ARGS],
    room: [AtomicU8; ROOM],
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    held: AtomicBool::new(false),
    cut: AtomicBool::new(false),
    used: AtomicU16::new(0),
    spans: [const { AtomicU32::new(0) }; 3],
    kept: [const { AtomicU32::new(0) }; 3],
    ends: [const { AtomicU16::new(0) }; MESSAGE_ARGS],
    room: [const { AtomicU8::new(0) }; ROOM],
};

static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];

/// Claim a free slot, emptied; `NO_SLOT` when all are held.
#[inline(never)]
fn claim() -> u8 {
    for (i, slot) in TABLE.iter().enumerate() {
        if slot
            .held
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            slot.used.store(0, Ordering::Relaxed);
            slot.cut.store(false, Ordering::Relaxed);
            for span in slot.spans.iter().chain(&slot.kept) {
                span.store(0, Ordering::Relaxed);
            }
            return i as u8;
        }
    }
    NO_SLOT
}

/// Keep the packed text `text` as the error's `kept` one.
fn keep(index: u8, kept: Kept, text: Packed) {
    if let Some(slot) = TABLE.get(index as usize) {
        slot.kept[kept as usize].store(text.bits(), Ordering::Relaxed);
    }
}

/// Start `field` afresh at the end of the slot's room, holding `bytes`.
#[inline(never)]
fn set(index: u8, field: Field, bytes: &[u8]) {
    if let Some(slot) = TABLE.get(index as usize) {
        let start = slot.used.load(Ordering::Relaxed) as u32;
        slot.spans[field as usize].store(start << 16, Ordering::Relaxed);
        extend(index, field, bytes);
    }
}

/// Append to `field`, the last one set: the subject is cut at
/// [`SUBJECT_MAX`] bytes as `Text` cuts, anything at the end of the room.
#[inline(never)]
fn extend(index: u8, field: Field, bytes: &[u8]) {
    let Some(slot) = TABLE.get(index as usize) else {
        return;
    };
    let span = slot.spans[field as usize].load(Ordering::Relaxed);
    let (start, len) = ((span >> 16) as usize, (span & 0xffff) as usize);
    let mut room = ROOM - (start + len);
    if let Field::Subject = field {
        room = room.min(SUBJECT_MAX - len);
    }
    let n = bytes.len().min(room);
    for (cell, &b) in slot.room[start + len..start + len + n].iter().zip(bytes) {
        cell.store(b, Ordering::Relaxed);
    }
    slot.spans[field as usize].store(span + n as u32, Ordering::Relaxed);
    slot.used.store((start + len + n) as u16, Ordering::Relaxed);
    if n < bytes.len() && matches!(field, Field::Subject) {
        slot.cut.store(true, Ordering::Relaxed);
    }
}

/// `fmt::Write` into a slot's subject, for [`Error::text`]'s arguments.
struct SubjectWriter(u8);

impl fmt::Write for SubjectWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        extend(self.0, Field::Subject, s.as_bytes());
        Ok(())
    }
}

/// A message of `bad!`: a packed text with `{}` where each argument goes,
/// in order (`{{` and `}}` for braces). Its text is unpacked only when it
/// is shown.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    pub text: Packed,
    pub args: &'a [&'a dyn fmt::Display],
}

/// The `{}` in a message's text (`{{` and `}}` are braces).
pub const fn placeholders(text: &str) -> usize {
    let (bytes, mut i, mut n) = (text.as_bytes(), 0, 0);
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'{', b'}') => {
                n += 1;
                i += 2;
            }
            (b'{', b'{') | (b'}', b'}') => i += 2,
            _ => i += 1,
        }
    }
    n
}

/// Longest text of a [`Message`] or step, unpacked (longer is cut).
const TEXT_MAX: usize = 256;

/// Put `text` into `out` with each `{}` replaced by the next argument
/// (`args` cut at `ends`), a brace for each `{{` and `}}`: at most
/// `out`'s length, `cut` set when more did not fit. Returns the length.
fn compose(text: &[u8], args: &[u8], ends: &[usize], out: &mut [u8], cut: &mut bool) -> usize {
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            match out.get_mut(n) {
                Some(cell) => {
                    *cell = b;
                    n += 1;
                }
                None => *cut = true,
            }
        }
    };
    let (mut i, mut arg) = (0, 0usize);
    while i < text.len() {
        let pair = text.get(i..i + 2).unwrap_or_default();
        i += if pair == b"{}" {
            let start = arg.checked_sub(1).map_or(0, |k| ends[k]);
            put(args
                .get(start..ends.get(arg).copied().unwrap_or(start))
                .unwrap_or_default());
            arg += 1;
            2
        } else if pair == b"{{" || pair == b"}}" {
            put(&pair[..1]);
            2
        } else {
            put(&text[i..i + 1]);
            1
        };
    }
    n
}

pub struct Error {
    /// The errno's number, 0 for an error that is not a syscall's: with
    /// `slot` a byte that is never 0 the whole error is 4 bytes, so a
    /// `Result` of a 32-bit value or a descriptor fits in one register.
    errno: u16,
    /// The slot holding the texts: what box was doing ("mount /proc"), the
    /// syscall that failed ("" for an error that is not a syscall's), the
    /// path or value involved (for messages, the text), what the user can
    /// do about it. Owned by this error, freed when it drops.
    slot: Slot1,
    /// Exit status this error maps to.
    pub code: u8,
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// A failed syscall: `step: call(subject): strerror`.
    pub fn sys(step: Packed, call: &'static str, subject: &[u8], errno: Errno) -> Self {
        let slot = claim();
        keep(slot, Kept::Step, step);
        set(slot, Field::Call, call.as_bytes());
        set(slot, Field::Subject, subject);
        Self {
            errno: errno.raw_os_error() as u16,
            slot: Slot1::new(slot),
            code: EXIT_BOX,
        }
    }

    /// A failed syscall whose step is a text of the program's (an option
    /// as spelled), not a packed one.
    pub fn sys_named(step: &'static str, call: &'static str, subject: &[u8], errno: Errno) -> Self {
        let error = Self::sys(packed!(""), call, subject, errno);
        set(error.slot.index(), Field::Step, step.as_bytes());
        error
    }

    /// Bad input or a refused request: `bad!`'s message. Its arguments
    /// are written now, its text is unpacked when it is shown.
    #[inline(never)]
    pub fn text(text: Packed, args: &[&dyn fmt::Display]) -> Self {
        let index = claim();
        set(index, Field::Subject, b"");
        keep(index, Kept::Message, text);
        if let Some(slot) = TABLE.get(index as usize) {
            for (end, arg) in slot.ends.iter().zip(args) {
                let _ = write!(SubjectWriter(index), "{arg}");
                let span = slot.spans[Field::Subject as usize].load(Ordering::Relaxed);
                end.store(span as u16, Ordering::Relaxed);
            }
        }
        Self {
            errno: 0,
            slot: Slot1::new(index),
            code: EXIT_BOX,
        }
    }

    /// A hint, packed with the help texts (src/packed.rs): the long texts
    /// of the messages, read only when something failed.
    pub fn hint(self, hint: Packed) -> Self {
        keep(self.slot.index(), Kept::Hint, hint);
        self
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    pub fn errno(&self) -> Option<Errno> {
        match self.errno {
            0 => None,
            raw => Some(Errno::from_raw_os_error(raw as i32)),
        }
    }
}

impl Drop for Error {
    fn drop(&mut self) {
        if let Some(slot) = TABLE.get(self.slot.index() as usize) {
            slot.held.store(false, Ordering::Release);
        }
    }
}

impl fmt::Display for Error {
    #[inline(never)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(slot) = TABLE.get(self.slot.index() as usize) else {
            f.write_str("…")?;
            if let Some(errno) = self.errno() {
                write!(f, ": {}", ErrnoText(errno))?;
            }
            return Ok(());
        };
        let mut room = [0u8; ROOM];
        let used = (slot.used.load(Ordering::Relaxed) as usize).min(ROOM);
        for (b, cell) in room[..used].iter_mut().zip(&slot.room) {
            *b = cell.load(Ordering::Relaxed);
        }
        let field = |field: Field| {
            let span = slot.spans[field as usize].load(Ordering::Relaxed);
            let start = ((span >> 16) as usize).min(used);
            let end = (start + (span & 0xffff) as usize).min(used);
            &room[start..end]
        };
        let kept = |kept: Kept| Packed::from_bits(slot.kept[kept as usize].load(Ordering::Relaxed));
        let mut cut = slot.cut.load(Ordering::Relaxed);
        let mut buf = [0u8; TEXT_MAX];
        let named = text(field(Field::Step));
        let step = match named.is_empty() {
            true => kept(Kept::Step).unpack_into(&mut buf),
            false => named,
        };
        if !step.is_empty() {
            f.write_str(step)?;
            f.write_str(": ")?;
        }
        let call = text(field(Field::Call));
        let mut subject = field(Field::Subject);
        // A message: its text with the arguments in place of each `{}`.
        let mut composed = [0u8; SUBJECT_MAX];
        let message = kept(Kept::Message);
        if !message.is_empty() {
            let mut ends = [0; MESSAGE_ARGS];
            for (end, cell) in ends.iter_mut().zip(&slot.ends) {
                *end = cell.load(Ordering::Relaxed) as usize;
            }
            let text = message.unpack_into(&mut buf).as_bytes();
            let n = compose(text, subject, &ends, &mut composed, &mut cut);
            subject = &composed[..n];
        }
        // The subject as `Text` shows it: its bytes (honouring width when
        // it is the whole message), then `…` when some were cut.
        let subject = Bytes(subject);
        let cut = if cut { "…" } else { "" };
        if call.is_empty() {
            fmt::Display::fmt(&subject, f)?;
            f.write_str(cut)?;
        } else {
            write!(f, "{call}({subject}{cut})")?;
        }
        if let Some(errno) = self.errno() {
            write!(f, ": {}", ErrnoText(errno))?;
        }
        let hint = kept(Kept::Hint).unpack_into(&mut buf);
        if !hint.is_empty() {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An [`Error::text`]: `bad!("text with {} for each argument", ARG, …)`.
/// The text is packed (build.rs finds it, as `packed!`'s); each `{}` is
/// the next argument, shown with its `Display`; no names, no formats.
#[macro_export]
macro_rules! bad {
    ($text:literal $(, $arg:expr)* $(,)?) => {{
        let message = $crate::message!($text $(, $arg)*);
        $crate::error::Error::text(message.text, message.args)
    }};
}

/// A [`Message`]: `message!("text with {} for each argument", ARG, …)`,
/// as `bad!`'s. As many arguments as `{}`, at most [`MESSAGE_ARGS`]: else
/// the build fails.
#[macro_export]
macro_rules! message {
    ($text:literal $(, $arg:expr)* $(,)?) => {
        $crate::error::Message {
            text: {
                const ARGS: usize = <[&str]>::len(&[$(stringify!($arg)),*]);
                const _: () = assert!(
                    $crate::error::placeholders($text) == ARGS
                        && ARGS <= $crate::error::MESSAGE_ARGS,
                    "a message needs one argument for each placeholder"
                );
                $crate::packed!($text)
            },
            args: &[$(&$arg as &dyn ::core::fmt::Display),*],
        }
    };
}

/// `strerror` text, from box's own table: the C library's `strerror` may
/// take locale locks, which the container child must not touch.
pub struct ErrnoText(pub Errno);

/// The known errnos and their texts, in one order: `KNOWN`, and `TEXTS`
/// (one string, the texts NUL-separated), which take less room than a
/// `match` of this many arms.
macro_rules! errno_texts {
    ($($errno:ident $text:literal,)*) => {
        const KNOWN: &[Errno] = &[$(Errno::$errno),*];
        const TEXTS: &str = concat!($($text, "\0"),*);
    };
}

errno_texts! {
    PERM "Operation not permitted",
    NOENT "No such file or directory",
    SRCH "No such process",
    INTR "Interrupted system call",
    IO "Input/output error",
    NXIO "No such device or address",
    TOOBIG "Argument list too long",
    NOEXEC "Exec format error",
    BADF "Bad file descriptor",
    CHILD "No child processes",
    AGAIN "Resource temporarily unavailable",
    NOMEM "Cannot allocate memory",
    ACCESS "Permission denied",
    FAULT "Bad address",
    NOTBLK "Block device required",
    BUSY "Device or resource busy",
    EXIST "File exists",
    XDEV "Invalid cross-device link",
    NODEV "No such device",
    NOTDIR "Not a directory",
    ISDIR "Is a directory",
    INVAL "Invalid argument",
    NFILE "Too many open files in system",
    MFILE "Too many open files",
    NOTTY "Inappropriate ioctl for device",
    TXTBSY "Text file busy",
    FBIG "File too large",
    NOSPC "No space left on device",
    SPIPE "Illegal seek",
    ROFS "Read-only file system",
    MLINK "Too many links",
    PIPE "Broken pipe",
    RANGE "Numerical result out of range",
    DEADLK "Resource deadlock avoided",
    NAMETOOLONG "File name too long",
    NOSYS "Function not implemented",
    NOTEMPTY "Directory not empty",
    LOOP "Too many levels of symbolic links",
    NOTSUP "Operation not supported",
    ADDRINUSE "Address already in use",
    NETDOWN "Network is down",
    TIMEDOUT "Connection timed out",
    CONNREFUSED "Connection refused",
    STALE "Stale file handle",
    DQUOT "Disk quota exceeded",
    CANCELED "Operation canceled",
    OWNERDEAD "Owner died",
    USERS "Too many users",
}

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = KNOWN.iter().position(|&errno| errno == self.0);
        match known.and_then(|i| TEXTS.split('\0').nth(i)) {
            Some(text) => f.write_str(text),
            None => write!(f, "errno {}", self.0.raw_os_error()),
        }
    }
}

/// Shorthand for turning a rustix result into an [`Error`] naming the step,
/// the syscall and the path.
pub trait Context<T> {
    fn at(self, step: Packed, call: &'static str, subject: &[u8]) -> Result<T>;
}

impl<T> Context<T> for core::result::Result<T, Errno> {
    fn at(self, step: Packed, call: &'static str, subject: &[u8]) -> Result<T> {
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
            packed!("switch into the rootfs"),
            "pivot_root",
            b"/srv/web",
            Errno::INVAL,
        )
        .hint(packed!("a parent mount is shared"));
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
    #[test]
    fn errors_alive_at_once_keep_their_own_subjects() {
        let first = Error::sys(packed!("mount /proc"), "mount", b"/srv/a/proc", Errno::PERM);
        // A cleanup after the failure fails too, while the first is pending.
        let cleanup = Error::sys(
            packed!("remove the cgroup"),
            "rmdir",
            b"/sys/fs/cgroup/box/a",
            Errno::BUSY,
        );
        // An error built from another's text.
        let wrapped = bad!("after {}", first);
        drop(cleanup);
        let later = Error::sys(packed!("open the rootfs"), "open", b"/srv/b", Errno::NOENT)
            .hint(packed!("is it there?"))
            .with_code(EXIT_NOT_FOUND);
        assert_eq!(
            show(&first).as_bytes(),
            b"mount /proc: mount(/srv/a/proc): Operation not permitted"
        );
        assert_eq!(
            show(&wrapped).as_bytes(),
            b"after mount /proc: mount(/srv/a/proc): Operation not permitted"
        );
        assert_eq!(
            show(&later).as_bytes(),
            b"open the rootfs: open(/srv/b): No such file or directory (is it there?)"
        );
        assert_eq!(later.code, EXIT_NOT_FOUND);
    }

    #[test]
    fn the_last_hint_is_the_one_shown() {
        let e = Error::sys(packed!("step"), "open", b"/x", Errno::NOENT)
            .hint(packed!("first"))
            .hint(packed!("second"));
        assert_eq!(
            show(&e).as_bytes(),
            b"step: open(/x): No such file or directory (second)"
        );
    }

    #[test]
    fn messages_put_their_arguments_in_order() {
        let e = bad!(
            "{} and {}, {{literal}} braces, {}",
            "first",
            2,
            Bytes(b"third")
        );
        assert_eq!(show(&e).as_bytes(), b"first and 2, {literal} braces, third");
        assert_eq!(placeholders("a {} b {{}} c {}"), 2);
        assert_eq!(placeholders("{{{}}}"), 1);
    }

    #[test]
    fn long_messages_are_cut_as_text_cuts_them() {
        let long = [b'a'; SUBJECT_MAX];
        let e = bad!("before {} after", Bytes(&long));
        let mut expected = Text::<512>::new();
        let mut whole = std::vec::Vec::from(&b"before "[..]);
        whole.extend_from_slice(&long);
        let cut = Text::<SUBJECT_MAX>::from_bytes_lossy(&whole);
        write!(expected, "{cut}").unwrap();
        assert_eq!(show(&e).as_bytes(), expected.as_bytes());
    }

    #[test]
    fn a_named_step_is_shown_as_given() {
        let e = Error::sys_named("--make-private", "mount", b"/x", Errno::INVAL);
        assert_eq!(
            show(&e).as_bytes(),
            b"--make-private: mount(/x): Invalid argument"
        );
    }

    #[test]
    fn dropped_errors_give_their_slot_back() {
        for i in 0..10 * SLOTS {
            let e = bad!("error {}", i);
            let _ = core::hint::black_box(&e);
        }
        let e = Error::sys(packed!("step"), "open", b"/still/here", Errno::NOENT);
        assert_eq!(
            show(&e).as_bytes(),
            b"step: open(/still/here): No such file or directory"
        );
    }

    #[test]
    fn long_subjects_are_cut_as_text_cuts_them() {
        let long = [b'a'; SUBJECT_MAX + 80];
        let e = Error::sys(packed!("step"), "open", &long, Errno::NOENT);
        let mut expected = Text::<512>::new();
        let cut = Text::<SUBJECT_MAX>::from_bytes_lossy(&long);
        write!(expected, "step: open({cut}): No such file or directory").unwrap();
        assert_eq!(show(&e).as_bytes(), expected.as_bytes());
        let e = bad!("{}", crate::text::Bytes(&long));
        let mut expected = Text::<512>::new();
        write!(expected, "{cut}").unwrap();
        assert_eq!(show(&e).as_bytes(), expected.as_bytes());
        // Exactly full is not cut.
        let e = Error::sys(packed!("step"), "open", &long[..SUBJECT_MAX], Errno::NOENT);
        assert!(
            !show(&e)
                .as_bytes()
                .ends_with("…): No such file or directory".as_bytes())
        );
    }

    #[test]
    fn an_error_without_a_slot_still_names_its_errno() {
        let e = Error {
            errno: Errno::PERM.raw_os_error() as u16,
            slot: Slot1::new(NO_SLOT),
            code: EXIT_BOX,
        };
        assert_eq!(show(&e).as_bytes(), "…: Operation not permitted".as_bytes());
    }

    #[test]
    fn errnos_have_their_texts_in_order() {
        let text = |errno| {
            let mut t = Text::<64>::new();
            let _ = write!(t, "{}", ErrnoText(errno));
            t
        };
        assert_eq!(TEXTS.split('\0').count(), KNOWN.len() + 1);
        assert_eq!(text(Errno::PERM).as_bytes(), b"Operation not permitted");
        assert_eq!(
            text(Errno::LOOP).as_bytes(),
            b"Too many levels of symbolic links"
        );
        assert_eq!(text(Errno::USERS).as_bytes(), b"Too many users");
        assert_eq!(text(Errno::from_raw_os_error(200)).as_bytes(), b"errno 200");
    }

    #[test]
    fn an_error_fits_in_a_register() {
        // A `Result` of a word or less comes back in two registers.
        use core::mem::size_of;
        assert!(size_of::<Error>() <= size_of::<usize>());
        assert!(size_of::<Result<()>>() <= size_of::<usize>());
        assert!(size_of::<Result<usize>>() <= 2 * size_of::<usize>());
        assert_eq!(size_of::<Error>(), 4);
        assert_eq!(size_of::<Result<()>>(), 4);
        assert_eq!(size_of::<Result<u32>>(), 8);
    }
}
