//! Fixed-capacity byte strings: `Text` for messages and names, `CPath` for
//! NUL-terminated paths handed to syscalls. Neither allocates, both are `Copy`,
//! so they can be built before `clone` and read by the child afterwards.

use core::ffi::CStr;
use core::fmt;

/// Longest path box accepts (bytes, without the NUL). Documented in the README.
pub const PATH_MAX: usize = 255;
// CPath keeps its length in a u8.
const _: () = assert!(PATH_MAX <= u8::MAX as usize);

/// A byte string of at most `N` bytes. Writing past the end truncates and sets
/// a flag, so a caller that must not lose data can check [`Text::overflowed`].
#[derive(Clone, Copy)]
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Text<N> {
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// Copy of `bytes`, or `None` if it does not fit.
    pub fn try_from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut t = Self::new();
        t.push(bytes);
        (!t.overflow).then_some(t)
    }

    /// Copy of `bytes`, truncated to the capacity.
    pub fn from_bytes_lossy(bytes: &[u8]) -> Self {
        let mut t = Self::new();
        t.push(bytes);
        t
    }

    pub fn push(&mut self, bytes: &[u8]) {
        push_into(&mut self.buf, &mut self.len, &mut self.overflow, bytes);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// `Text::push` for every capacity: one copy of the code in the binary,
/// not one per `N`.
#[inline(never)]
fn push_into(buf: &mut [u8], len: &mut usize, overflow: &mut bool, bytes: &[u8]) {
    let room = &mut buf[*len..];
    let n = bytes.len().min(room.len());
    room[..n].copy_from_slice(&bytes[..n]);
    *len += n;
    if n < bytes.len() {
        *overflow = true;
    }
}

impl<const N: usize> fmt::Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }

    /// `write!` formats into a `Tail` of the buffer: the formatting
    /// machinery sees one type whatever the capacity.
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> fmt::Result {
        write_tail(&mut self.buf, &mut self.len, &mut self.overflow, args)
    }
}

/// [`Text`]'s `write_fmt`, out of line: one copy, not one at each `write!`.
#[inline(never)]
fn write_tail(
    buf: &mut [u8],
    len: &mut usize,
    overflow: &mut bool,
    args: fmt::Arguments<'_>,
) -> fmt::Result {
    fmt::write(&mut Tail { buf, len, overflow }, args)
}

/// A `Text` seen without its capacity.
struct Tail<'a> {
    buf: &'a mut [u8],
    len: &'a mut usize,
    overflow: &'a mut bool,
}

impl fmt::Write for Tail<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_into(self.buf, self.len, self.overflow, s.as_bytes());
        Ok(())
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self.as_bytes(), self.overflow, f)
    }
}

/// `Text`'s `Display` for every capacity: its bytes, then `…` when some
/// were cut.
#[inline(never)]
fn display(bytes: &[u8], overflow: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    fmt::Display::fmt(&Bytes(bytes), f)?;
    if overflow {
        return f.write_str("…");
    }
    Ok(())
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl<const N: usize> PartialEq for Text<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Displays bytes that are usually UTF-8 (paths, names); invalid sequences
/// show as U+FFFD, control characters as `\xNN`. Every message and table
/// line box prints goes through here, and the values in them are often the
/// caller's or a container's (a rejected `--name`, a command word): a
/// newline would forge a line of its own in a log, an escape sequence
/// would talk to the terminal. C1 controls count too (U+0085 breaks lines
/// for some terminals, U+009B starts a sequence as ESC [ does).
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Valid UTF-8 without controls (the usual case) honours width and
        // alignment.
        if let Ok(s) = core::str::from_utf8(self.0)
            && !s.chars().any(char::is_control)
        {
            return f.pad(s);
        }
        write_escaped(f, self.0)
    }
}

/// Write `bytes` as [`Bytes`] shows them, ignoring width: each control
/// character as `\xNN`, each run of invalid UTF-8 as U+FFFD.
pub fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                write!(f, "\\x{:02x}", c as u32)?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        if !chunk.invalid().is_empty() {
            f.write_str("\u{fffd}")?;
        }
    }
    Ok(())
}

/// A NUL-terminated path of at most [`PATH_MAX`] bytes, ready for a syscall.
#[derive(Clone, Copy)]
pub struct CPath {
    buf: [u8; PATH_MAX + 1],
    /// At most [`PATH_MAX`]: a `u8`, so that `buf[..len]` and `buf[..=len]`
    /// need no bounds check at the many callers they are inlined into.
    len: u8,
}

impl CPath {
    pub const fn new() -> Self {
        Self {
            buf: [0; PATH_MAX + 1],
            len: 0,
        }
    }

    /// Build from parts; `None` if the result is too long or has a NUL inside.
    pub fn from_parts(parts: &[&[u8]]) -> Option<Self> {
        let mut p = Self::new();
        for part in parts {
            p.push(part)?;
        }
        Some(p)
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_parts(&[bytes])
    }

    /// Append bytes; `None` if they do not fit or contain a NUL. Out of
    /// line: inlined, its checks and copy were repeated at some 50 callers.
    #[inline(never)]
    pub fn push(&mut self, bytes: &[u8]) -> Option<()> {
        let len = self.len as usize;
        let end = len + bytes.len();
        if bytes.contains(&0) || end > PATH_MAX {
            return None;
        }
        self.buf[len..end].copy_from_slice(bytes);
        self.buf[end] = 0;
        self.len = end as u8;
        Some(())
    }

    /// `/proc/PID` (`/proc/self` for `None`) and then `rest` (`/ns/net`,
    /// `/root`, or empty): one builder for every /proc path of a process.
    /// A PID and the short `rest`s used always fit in PATH_MAX.
    pub fn proc(pid: Option<u32>, rest: &[u8]) -> Self {
        let mut digits = [0u8; 20];
        let id: &[u8] = match pid {
            Some(pid) => decimal(u64::from(pid), &mut digits),
            None => b"self",
        };
        let mut path = Self::new();
        let _ = path.push(b"/proc/");
        let _ = path.push(id);
        let _ = path.push(rest);
        path
    }

    /// Append a decimal number (for `/proc/self/fd/N` and the like).
    pub fn push_u64(&mut self, n: u64) -> Option<()> {
        let mut digits = [0u8; 20];
        self.push(decimal(n, &mut digits))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    pub fn as_cstr(&self) -> &CStr {
        // The buffer always holds a NUL at `len` and none before it (push checks).
        CStr::from_bytes_with_nul(&self.buf[..=self.len as usize]).unwrap_or(c"")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for CPath {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Bytes(self.as_bytes()).fmt(f)
    }
}

impl fmt::Debug for CPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// The decimal digits of `n`, written at the end of `buf` (20 digits hold
/// `u64::MAX`) without allocating.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// The last component of a path (`/usr/bin/box` gives `box`).
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return path,
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(slash) => &trimmed[slash + 1..],
        None => trimmed,
    }
}

/// Parse an unsigned decimal number; `None` on anything else (no sign, no
/// spaces, no overflow).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

pub fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).and_then(|n| u32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn text_truncates_and_says_so() {
        let mut t = Text::<4>::new();
        write!(t, "abcdef").unwrap();
        assert_eq!(t.as_bytes(), b"abcd");
        assert!(t.overflowed());
        assert!(Text::<4>::try_from_bytes(b"abcde").is_none());
        assert!(Text::<4>::try_from_bytes(b"abcd").is_some());
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        let shown = |b: &[u8]| {
            let mut t = Text::<64>::new();
            write!(t, "{}", Bytes(b)).unwrap();
            String::from_utf8(t.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(shown(b"web\nbox: run: forged"), "web\\x0abox: run: forged");
        assert_eq!(shown(b"a\x1b[2Jb\tc\x7f"), "a\\x1b[2Jb\\x09c\\x7f");
        assert_eq!(shown("\u{9b}31m".as_bytes()), "\\x9b31m");
        assert_eq!(shown(b"caf\xc3\xa9 \xff"), "caf\u{e9} \u{fffd}");
        let mut t = Text::<16>::new();
        write!(t, "[{:<5}]", Bytes(b"ab")).unwrap();
        assert_eq!(t.as_bytes(), b"[ab   ]");
    }

    #[test]
    fn proc_paths_of_a_pid_or_of_self() {
        assert_eq!(
            CPath::proc(Some(42), b"/ns/net").as_cstr(),
            c"/proc/42/ns/net"
        );
        assert_eq!(
            CPath::proc(None, b"/mountinfo").as_cstr(),
            c"/proc/self/mountinfo"
        );
        assert_eq!(CPath::proc(Some(0), b"").as_cstr(), c"/proc/0");
        assert_eq!(
            CPath::proc(Some(u32::MAX), b"/").as_bytes(),
            b"/proc/4294967295/"
        );
    }

    #[test]
    fn cpath_is_nul_terminated_and_bounded() {
        let mut p = CPath::from_bytes(b"/proc/self/fd/").unwrap();
        p.push_u64(42).unwrap();
        assert_eq!(p.as_cstr(), c"/proc/self/fd/42");
        assert!(CPath::from_bytes(&[b'a'; PATH_MAX + 1]).is_none());
        assert!(CPath::from_bytes(&[b'a'; PATH_MAX]).is_some());
        assert!(CPath::from_bytes(b"a\0b").is_none());
        let mut z = CPath::new();
        z.push_u64(0).unwrap();
        assert_eq!(z.as_bytes(), b"0");
    }

    #[test]
    fn basename_works_like_coreutils() {
        assert_eq!(basename(b"/usr/bin/box"), b"box");
        assert_eq!(basename(b"box"), b"box");
        assert_eq!(basename(b"./init"), b"init");
        assert_eq!(basename(b"/sbin/init/"), b"init");
        assert_eq!(basename(b"/"), b"/");
        assert_eq!(basename(b""), b"");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b" 1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u32(b"4294967296"), None);
    }
}
