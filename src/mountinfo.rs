//! /proc/PID/mountinfo without allocation: one line parsed in place
//! ([`MountEntry::parse`]), the octal escapes of its paths decoded into
//! fixed-capacity buffers ([`Escaped`]), propagation as findmnt shows it
//! ([`Propagation`]), and a reader that streams a file line by line through
//! one stack buffer ([`LineReader`], [`MountinfoReader`]).
//!
//! The line format (proc_pid_mountinfo(5)):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1) (2) (3) (4)  (5)         (6)        (7)      (8) (9) (10)     (11)
//! ```
//!
//! (1) mount ID, (2) parent ID, (3) major:minor of the filesystem, (4) root
//! of the mount within the filesystem, (5) mount point, (6) per-mount
//! options, (7) zero or more optional fields, (8) a lone `-`, (9) filesystem
//! type, (10) source, (11) per-superblock options. The kernel writes space,
//! tab, newline and backslash in (4), (5), (9) and (10) as `\040`, `\011`,
//! `\012` and `\134`.

use core::ffi::CStr;
use core::fmt;

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::text::{self, CPath, Text};

/// Longest line [`MountinfoReader`] takes whole, in bytes with its newline.
/// A line is longer only when a path or the superblock options are very
/// long (an overlay with dozens of layers); such a line is skipped and
/// reported as [`ReadError::TooLong`], and the lines after it are read as
/// usual.
pub const MOUNT_LINE_MAX: usize = 8192;

/// Longest decoded path [`Escaped::decode`] callers use for display: the
/// kernel's PATH_MAX (4096, with its NUL).
pub const PATH_BYTES: usize = 4096;

/// One line of a mountinfo file, borrowing from the line.
#[derive(Clone, Copy, Debug)]
pub struct MountEntry<'a> {
    /// Unique ID of the mount (may be reused after an unmount); statx(2)'s
    /// STATX_MNT_ID gives the same number for a path.
    pub mount_id: u32,
    /// ID of the parent mount, or of the mount itself at the top of the tree.
    pub parent_id: u32,
    /// The device: box itself reads neither number; the round-trip check
    /// (fuzz/checks/mountinfo.rs, run by the unit tests and the fuzzer)
    /// rebuilds the line from them.
    pub major: u32,
    pub minor: u32,
    /// What of the filesystem is mounted: `/` for all of it, a directory
    /// for a bind mount of a subtree.
    pub root: Escaped<'a>,
    /// Where it is mounted, relative to the reading process's root.
    pub mount_point: Escaped<'a>,
    /// Per-mount options (`rw,nosuid,relatime`).
    pub options: &'a [u8],
    pub propagation: Propagation,
    pub fstype: Escaped<'a>,
    /// Filesystem-specific source (`/dev/sda1`, `tmpfs`, `none`).
    pub source: Escaped<'a>,
    /// Per-superblock options. Everything after the source, spaces included:
    /// old kernels wrote some (cifs's `unc=`) without escaping them.
    pub super_options: &'a [u8],
}

/// Why a line is not a mountinfo line: the field that was missing or wrong.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BadLine(pub &'static str);

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'a> MountEntry<'a> {
    /// Parse one line (without its newline). Unknown optional fields are
    /// ignored, as proc_pid_mountinfo(5) asks of parsers.
    pub fn parse(line: &'a [u8]) -> Result<Self, BadLine> {
        let mut fields = Fields(line);
        let mount_id = number(fields.next(), BadLine("bad mount ID"))?;
        let parent_id = number(fields.next(), BadLine("bad parent ID"))?;
        let device = fields.next().ok_or(BadLine("no major:minor"))?;
        let colon = device
            .iter()
            .position(|&b| b == b':')
            .ok_or(BadLine("bad major:minor"))?;
        let major = number(Some(&device[..colon]), BadLine("bad major:minor"))?;
        let minor = number(Some(&device[colon + 1..]), BadLine("bad major:minor"))?;
        let root = fields.next().ok_or(BadLine("no root"))?;
        let mount_point = fields.next().ok_or(BadLine("no mount point"))?;
        let options = fields.next().ok_or(BadLine("no mount options"))?;
        let mut propagation = Propagation::default();
        loop {
            match fields.next() {
                None => return Err(BadLine("no ' - ' separator")),
                Some(b"-") => break,
                Some(field) => propagation.add_field(field),
            }
        }
        let fstype = fields.next().ok_or(BadLine("no filesystem type"))?;
        let source = fields.next().ok_or(BadLine("no source"))?;
        Ok(Self {
            mount_id,
            parent_id,
            major,
            minor,
            root: Escaped(root),
            mount_point: Escaped(mount_point),
            options,
            propagation,
            fstype: Escaped(fstype),
            source: Escaped(source),
            super_options: fields.0,
        })
    }
}

/// The fields of a line, split on single spaces (an empty field between
/// two spaces stays a field), with the unsplit rest at hand.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        match self.0.iter().position(|&b| b == b' ') {
            Some(space) => {
                let field = &self.0[..space];
                self.0 = &self.0[space + 1..];
                Some(field)
            }
            None => Some(core::mem::take(&mut self.0)),
        }
    }
}

fn number(field: Option<&[u8]>, bad: BadLine) -> Result<u32, BadLine> {
    field.and_then(crate::text::parse_u32).ok_or(bad)
}

/// A field as the kernel wrote it, with `\NNN` octal escapes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a [u8]);

impl<'a> Escaped<'a> {
    /// The decoded bytes, one at a time.
    pub fn bytes(self) -> Unescape<'a> {
        Unescape(self.0)
    }

    /// Decoded into a buffer of `N` bytes; [`Text::overflowed`] says when it
    /// did not fit.
    pub fn decode<const N: usize>(self) -> Text<N> {
        let mut text = Text::new();
        for b in self.bytes() {
            text.push(&[b]);
        }
        text
    }

    /// Decoded into a path for a syscall; `None` if longer than box's
    /// [`crate::text::PATH_MAX`].
    pub fn to_cpath(self) -> Option<CPath> {
        let mut path = CPath::new();
        for b in self.bytes() {
            path.push(&[b])?;
        }
        Some(path)
    }

    /// Whether the decoded field is `bytes`, compared without a buffer.
    pub fn is(self, bytes: &[u8]) -> bool {
        self.bytes().eq(bytes.iter().copied())
    }

    /// How many columns [`fmt::Display`] takes (for aligning tables).
    pub fn width(self) -> usize {
        let text: Text<PATH_BYTES> = self.decode();
        Readable(text.as_bytes()).width() + usize::from(text.overflowed())
    }
}

/// Shown decoded, readably (see [`Readable`]).
impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Text<PATH_BYTES> = self.decode();
        Readable(text.as_bytes()).fmt(f)?;
        if text.overflowed() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// The decoding iterator of [`Escaped::bytes`]: `\` and three octal digits
/// (at most `\377`) is one byte; anything else, a lone backslash included,
/// stands for itself.
#[derive(Clone)]
pub struct Unescape<'a>(&'a [u8]);

impl Iterator for Unescape<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        if first == b'\\'
            && let Some(digits) = rest.get(..3)
            && digits[0] <= b'3'
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            self.0 = &rest[3..];
            return Some(digits.iter().fold(0u8, |v, d| v * 8 + (d - b'0')));
        }
        self.0 = rest;
        Some(first)
    }
}

/// Bytes shown for a terminal or a table: UTF-8 as it is, control
/// characters (a newline in a path) as `\xNN` so a line stays one line,
/// invalid UTF-8 as U+FFFD. C1 controls count: U+0085 is a line break to
/// some terminals, and U+009B starts an escape sequence as ESC [ does (a
/// mount point is any name a container chose).
pub struct Readable<'a>(pub &'a [u8]);

impl Readable<'_> {
    /// Columns taken when shown (one per character).
    pub fn width(&self) -> usize {
        let mut width = 0;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                width += if c.is_control() { 4 } else { 1 };
            }
            width += usize::from(!chunk.invalid().is_empty());
        }
        width
    }
}

impl fmt::Display for Readable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        text::write_escaped(f, self.0)
    }
}

/// The propagation of a mount: the optional fields of its line
/// (mount_namespaces(7), "Shared subtrees").
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Propagation {
    /// `shared:N`: the mount is in peer group N; mount events propagate
    /// between all its peers.
    pub shared: Option<u32>,
    /// `master:N`: the mount is a slave of peer group N, receiving its events.
    pub master: Option<u32>,
    /// `propagate_from:N`: for a slave whose master is out of sight, the
    /// closest peer group under the reading process's root it receives from.
    pub propagate_from: Option<u32>,
    /// `unbindable`: the mount cannot be bind-mounted (nor copied by a
    /// recursive bind).
    pub unbindable: bool,
}

impl Propagation {
    /// Take in one optional field; unknown ones are ignored.
    pub fn add_field(&mut self, field: &[u8]) {
        let group = |prefix: &[u8]| field.strip_prefix(prefix).and_then(crate::text::parse_u32);
        if let Some(n) = group(b"shared:") {
            self.shared = Some(n);
        } else if let Some(n) = group(b"master:") {
            self.master = Some(n);
        } else if let Some(n) = group(b"propagate_from:") {
            self.propagate_from = Some(n);
        } else if field == b"unbindable" {
            self.unbindable = true;
        }
    }

    /// The words of findmnt's PROPAGATION column: `shared` or `private`,
    /// then `,slave` and `,unbindable` when they apply (`shared,slave`,
    /// `private,slave`, `private,unbindable`).
    /// (`box mounts` shows the numbers; the unit tests check these words
    /// against findmnt's.)
    #[cfg(test)]
    pub fn findmnt(&self) -> FindmntWords {
        FindmntWords(*self)
    }
}

/// With peer-group numbers, as `box mounts` shows it: the optional fields
/// joined by commas (`shared:5`, `shared:7,master:5`,
/// `master:2,propagate_from:1`, `unbindable`), or `private`.
impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        let mut word = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            f.write_str(separator)?;
            separator = ",";
            f.write_fmt(args)
        };
        if let Some(n) = self.shared {
            word(f, format_args!("shared:{n}"))?;
        }
        if let Some(n) = self.master {
            word(f, format_args!("master:{n}"))?;
        }
        if let Some(n) = self.propagate_from {
            word(f, format_args!("propagate_from:{n}"))?;
        }
        if self.unbindable {
            word(f, format_args!("unbindable"))?;
        }
        if separator.is_empty() {
            f.write_str("private")?;
        }
        Ok(())
    }
}

/// See [`Propagation::findmnt`].
#[cfg(test)]
pub struct FindmntWords(Propagation);

#[cfg(test)]
impl fmt::Display for FindmntWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.0;
        f.write_str(if p.shared.is_some() {
            "shared"
        } else {
            "private"
        })?;
        if p.master.is_some() {
            f.write_str(",slave")?;
        }
        if p.unbindable {
            f.write_str(",unbindable")?;
        }
        Ok(())
    }
}

/// Why a line could not be had from a [`LineReader`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LineError {
    /// Line `line` (1-based) did not fit in the buffer; it was skipped.
    TooLong { line: usize },
    /// read(2) failed; the reader stops.
    Read(Errno),
}

/// Reads a file line by line through one buffer of `N` bytes, with no
/// allocation. A line that does not fit in `N` bytes with its newline (or,
/// for a last line without one, that fills them) is skipped and
/// reported once as [`LineError::TooLong`]; reading goes on after it. A last
/// line without a newline is still a line.
pub struct LineReader<const N: usize> {
    fd: OwnedFd,
    buf: [u8; N],
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Lines handed out (or skipped) so far.
    line: usize,
    /// Inside a line that did not fit: drop bytes up to its newline.
    skipping: bool,
    eof: bool,
}

impl<const N: usize> LineReader<N> {
    pub fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            buf: [0; N],
            start: 0,
            end: 0,
            line: 0,
            skipping: false,
            eof: false,
        }
    }

    /// Number (1-based) of the line last returned.
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// The next line without its newline; `None` at the end of the file or
    /// after a read error.
    pub fn next_line(&mut self) -> Option<Result<&[u8], LineError>> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(newline) = pending.iter().position(|&b| b == b'\n') {
                let line = self.start..self.start + newline;
                self.start += newline + 1;
                return Some(self.hand_out(line));
            }
            if self.eof {
                if self.start == self.end && !self.skipping {
                    return None;
                }
                let line = self.start..self.end;
                self.start = self.end;
                return Some(self.hand_out(line));
            }
            // Keep the partial line, at the front to leave room for the rest.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == N {
                // No newline in a full buffer: drop what we have of this
                // line and the rest of it as it comes.
                self.skipping = true;
                self.end = 0;
            }
            match rustix::io::read(&self.fd, &mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(Errno::INTR) => {}
                Err(e) => {
                    self.eof = true;
                    self.start = 0;
                    self.end = 0;
                    self.skipping = false;
                    return Some(Err(LineError::Read(e)));
                }
            }
        }
    }

    fn hand_out(&mut self, line: core::ops::Range<usize>) -> Result<&[u8], LineError> {
        self.line += 1;
        if core::mem::take(&mut self.skipping) {
            return Err(LineError::TooLong { line: self.line });
        }
        Ok(&self.buf[line])
    }
}

/// Why an entry could not be had from a [`MountinfoReader`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReadError {
    /// Line `line` is longer than [`MOUNT_LINE_MAX`]; skipped.
    TooLong { line: usize },
    /// Line `line` is not a mountinfo line; skipped.
    Malformed { line: usize, why: BadLine },
    /// read(2) failed; the reader stops.
    Read(Errno),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReadError::TooLong { line } => {
                write!(
                    f,
                    "line {line} is longer than {MOUNT_LINE_MAX} bytes; skipped"
                )
            }
            ReadError::Malformed { line, why } => write!(f, "line {line}: {why}; skipped"),
            ReadError::Read(e) => write!(f, "read: {}", crate::error::ErrnoText(e)),
        }
    }
}

/// The entries of a mountinfo file, in the file's order (a parent before
/// its children), parsed from a [`MOUNT_LINE_MAX`] stack buffer.
pub struct MountinfoReader<const N: usize = MOUNT_LINE_MAX> {
    lines: LineReader<N>,
}

impl MountinfoReader {
    /// Open `/proc/self/mountinfo`, or `/proc/PID/mountinfo`. The errno is
    /// open(2)'s: ENOENT for no such process, EINVAL for one that has exited
    /// but not been reaped (it has no mount namespace left), EACCES.
    pub fn open(pid: Option<u32>) -> Result<Self, Errno> {
        Self::open_path(path_of(pid).as_cstr())
    }

    pub fn open_path(path: &CStr) -> Result<Self, Errno> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Self::from_fd(fd))
    }
}

impl<const N: usize> MountinfoReader<N> {
    pub fn from_fd(fd: OwnedFd) -> Self {
        Self {
            lines: LineReader::new(fd),
        }
    }

    /// The next entry; `None` at the end. Errors name the line and do not
    /// end the reading, except a read error.
    pub fn next_entry(&mut self) -> Option<Result<MountEntry<'_>, ReadError>> {
        // Each call hands out exactly one line (or reports it).
        let number = self.lines.line_number() + 1;
        let line = match self.lines.next_line()? {
            Ok(line) => line,
            Err(LineError::TooLong { line }) => return Some(Err(ReadError::TooLong { line })),
            Err(LineError::Read(e)) => return Some(Err(ReadError::Read(e))),
        };
        Some(MountEntry::parse(line).map_err(|why| ReadError::Malformed { line: number, why }))
    }
}

/// Whether the process's root is the kernel's initramfs (the `rootfs`
/// filesystem), where pivot_root(2) fails with EINVAL: the last mount on
/// "/" in /proc/self/mountinfo is the one in use. Reads with the stack
/// buffer only, so the container child may call it.
pub fn root_is_initramfs() -> bool {
    let mut answer = false;
    each_own_mount(&mut |entry| {
        if entry.mount_point.is(b"/") {
            answer = entry.fstype.is(b"rootfs");
        }
    });
    answer
}

/// Give each entry of `/proc/self/mountinfo` that could be read to
/// `each`, in the file's order (none where it cannot be opened). One
/// reading loop for the callers that skip what they cannot read; the
/// stack buffer only.
pub fn each_own_mount(each: &mut dyn FnMut(&MountEntry<'_>)) {
    let Ok(mut reader) = MountinfoReader::open(None) else {
        return;
    };
    while let Some(entry) = reader.next_entry() {
        if let Ok(entry) = entry {
            each(&entry);
        }
    }
}

/// `/proc/self/mountinfo` or `/proc/PID/mountinfo`.
pub fn path_of(pid: Option<u32>) -> CPath {
    CPath::proc(pid, b"/mountinfo")
}

/// The checks the fuzz target `mountinfo` runs; the tests below run them
/// on stable too, with pseudo-random lines.
#[cfg(test)]
#[path = "../fuzz/checks/mountinfo.rs"]
mod checks;

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    /// Lines copied from real systems, each marked with where it came from.
    ///
    /// This machine (Debian 12 VM, kernel 6.18, not systemd): no optional
    /// fields at all.
    const HERE_ROOT: &[u8] = b"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534";
    /// This machine: /dev/pts mounted twice (the second one on top).
    const HERE_PTS: &[u8] =
        b"29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000";
    /// This machine: `mount --bind "/tmp/src dir/sub" /tmp/bindt`, a bind
    /// mount of a subtree (root is not "/"), with a space in the root.
    const HERE_BIND: &[u8] = b"42 27 254:0 /tmp/src\\040dir/sub /tmp/bindt rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534";
    /// This machine: `mount -t tmpfs "my src" "/tmp/tgt dir"` then
    /// `mount --make-unbindable`.
    const HERE_UNBINDABLE: &[u8] =
        b"43 27 0:39 / /tmp/tgt\\040dir rw,relatime unbindable - tmpfs my\\040src rw";
    /// This machine: a bind of a shared mount made slave, then shared again.
    const HERE_SHARED_SLAVE: &[u8] =
        b"43 27 0:39 / /tmp/u rw,relatime shared:2 master:1 - tmpfs T rw";
    /// This machine, /proc/PID/mountinfo of a process chrooted into /tmp/x,
    /// where the slave /v's master (peer group 2, at /tmp/u) is out of sight
    /// but group 1 (/t) is not.
    const HERE_PROPAGATE_FROM: &[u8] =
        b"44 27 0:39 / /v rw,relatime master:2 propagate_from:1 - tmpfs T rw";
    /// Fedora with systemd (moby/sys mountinfo test data): everything shared.
    const SYSTEMD_ROOT: &[u8] = b"35 1 253:2 / / rw,relatime shared:1 - ext4 /dev/mapper/ssd-root--f20 rw,seclabel,data=ordered";
    const SYSTEMD_BINFMT: &[u8] = b"36 15 0:30 / /proc/sys/fs/binfmt_misc rw,relatime shared:22 - autofs systemd-1 rw,fd=38,pgrp=1,timeout=300,minproto=5,maxproto=5,direct";
    const SYSTEMD_GVFS: &[u8] = b"121 22 0:36 / /run/user/1000/gvfs rw,nosuid,nodev,relatime shared:104 - fuse.gvfsd-fuse gvfsd-fuse rw,user_id=1000,group_id=1000";
    /// Fedora (moby/sys): cifs from an old kernel, whose superblock options
    /// hold unescaped spaces.
    const CIFS_SPACES: &[u8] = b"31 21 0:23 / /DATA/foo_bla_bla rw,relatime - cifs //foo/BLA\\040BLA\\040BLA/ rw,sec=ntlm,cache=loose,unc=\\\\foo\\BLA BLA BLA,username=my_login,domain=mydomain.com";
    /// A Fedora machine (moby/sys): every escape the kernel makes.
    const ALL_ESCAPES: &[u8] = b"649 94 259:5 /tmp/newline\\012tab\\011space\\040backslash\\134quote1'quote2\" /tmp/newline\\012tab\\011space\\040backslash\\134quote1'quote2\" rw,relatime shared:47 - ext4 /dev/nvme0n1p5 rw,seclabel";

    fn parse(line: &[u8]) -> MountEntry<'_> {
        MountEntry::parse(line).unwrap()
    }

    fn show(value: impl fmt::Display) -> Text<512> {
        let mut t = Text::new();
        write!(t, "{value}").unwrap();
        t
    }

    #[test]
    fn a_line_without_optional_fields() {
        let e = parse(HERE_ROOT);
        assert_eq!((e.mount_id, e.parent_id, e.major, e.minor), (27, 1, 254, 0));
        assert!(e.root.is(b"/") && e.mount_point.is(b"/"));
        assert_eq!(e.options, b"rw,relatime");
        assert_eq!(e.propagation, Propagation::default());
        assert!(e.fstype.is(b"ext4") && e.source.is(b"/dev/vda"));
        assert_eq!(
            e.super_options,
            b"rw,discard,resv_strict,resuid=65534,resgid=65534"
        );
        assert_eq!(show(e.propagation).as_bytes(), b"private");
        assert_eq!(show(e.propagation.findmnt()).as_bytes(), b"private");
        let pts = parse(HERE_PTS);
        assert_eq!((pts.mount_id, pts.parent_id), (29, 26));
        assert!(pts.mount_point.is(b"/dev/pts"));
    }

    #[test]
    fn systemd_lines_are_shared() {
        let root = parse(SYSTEMD_ROOT);
        assert_eq!(root.propagation.shared, Some(1));
        assert_eq!(show(root.propagation).as_bytes(), b"shared:1");
        assert_eq!(show(root.propagation.findmnt()).as_bytes(), b"shared");
        assert!(root.source.is(b"/dev/mapper/ssd-root--f20"));
        let binfmt = parse(SYSTEMD_BINFMT);
        assert_eq!(binfmt.propagation.shared, Some(22));
        assert!(binfmt.mount_point.is(b"/proc/sys/fs/binfmt_misc"));
        assert!(binfmt.source.is(b"systemd-1"));
        let gvfs = parse(SYSTEMD_GVFS);
        assert_eq!((gvfs.mount_id, gvfs.parent_id), (121, 22));
        assert!(gvfs.fstype.is(b"fuse.gvfsd-fuse"));
        assert_eq!(show(gvfs.propagation).as_bytes(), b"shared:104");
    }

    #[test]
    fn several_optional_fields() {
        let p = parse(HERE_SHARED_SLAVE).propagation;
        assert_eq!((p.shared, p.master), (Some(2), Some(1)));
        assert_eq!(show(p).as_bytes(), b"shared:2,master:1");
        assert_eq!(show(p.findmnt()).as_bytes(), b"shared,slave");

        let p = parse(HERE_PROPAGATE_FROM).propagation;
        assert_eq!((p.master, p.propagate_from), (Some(2), Some(1)));
        assert_eq!(show(p).as_bytes(), b"master:2,propagate_from:1");
        assert_eq!(show(p.findmnt()).as_bytes(), b"private,slave");

        let p = parse(HERE_UNBINDABLE).propagation;
        assert!(p.unbindable && p.shared.is_none() && p.master.is_none());
        assert_eq!(show(p).as_bytes(), b"unbindable");
        assert_eq!(show(p.findmnt()).as_bytes(), b"private,unbindable");

        // Fields a future kernel may add are skipped.
        let line = b"50 27 0:40 / /x rw shared:3 future:9 unbindable2 - tmpfs t rw";
        assert_eq!(show(parse(line).propagation).as_bytes(), b"shared:3");
    }

    #[test]
    fn escapes_are_decoded() {
        let e = parse(HERE_UNBINDABLE);
        assert_eq!(e.mount_point.0, b"/tmp/tgt\\040dir");
        assert_eq!(
            e.mount_point.to_cpath().unwrap().as_bytes(),
            b"/tmp/tgt dir"
        );
        assert!(e.source.is(b"my src"));
        let e = parse(ALL_ESCAPES);
        let decoded = b"/tmp/newline\ntab\tspace backslash\\quote1'quote2\"";
        assert_eq!(e.mount_point.decode::<128>().as_bytes(), decoded);
        assert!(e.root.is(decoded));
        assert_eq!(e.propagation.shared, Some(47));
        // Shown on one line: control characters as \xNN.
        assert_eq!(
            show(e.mount_point).as_bytes(),
            b"/tmp/newline\\x0atab\\x09space backslash\\quote1'quote2\""
        );
        assert_eq!(e.mount_point.width(), show(e.mount_point).len());
        // C1 controls too (U+009B is CSI, U+0085 a line break); found by
        // the fuzz checks.
        let c1 = Escaped(b"/a\\302\\233[2J\\302\\205b");
        assert_eq!(show(c1).as_bytes(), b"/a\\x9b[2J\\x85b");
        assert_eq!(c1.width(), show(c1).len());
        // A backslash not followed by three octal digits (at most \377) is
        // itself.
        assert!(Escaped(b"a\\b\\400\\04").is(b"a\\b\\400\\04"));
        assert!(Escaped(b"\\303\\251t\\303\\251").is("été".as_bytes()));
        assert_eq!(Escaped(b"\\303\\251t\\303\\251").width(), 3);
    }

    #[test]
    fn a_bind_mount_of_a_subtree() {
        let e = parse(HERE_BIND);
        assert!(e.root.is(b"/tmp/src dir/sub"));
        assert!(e.mount_point.is(b"/tmp/bindt"));
    }

    #[test]
    fn super_options_keep_unescaped_spaces() {
        let e = parse(CIFS_SPACES);
        assert!(e.source.is(b"//foo/BLA BLA BLA/"));
        assert_eq!(
            e.super_options,
            b"rw,sec=ntlm,cache=loose,unc=\\\\foo\\BLA BLA BLA,username=my_login,domain=mydomain.com"
        );
    }

    #[test]
    fn decoding_into_small_buffers_says_it_overflowed() {
        let e = parse(HERE_BIND);
        let short: Text<4> = e.root.decode();
        assert!(short.overflowed());
        assert_eq!(short.as_bytes(), b"/tmp");
        let long = [b'a'; crate::text::PATH_MAX + 1];
        assert!(Escaped(&long).to_cpath().is_none());
    }

    #[test]
    fn malformed_lines_name_what_is_missing() {
        let bad = |line: &[u8]| MountEntry::parse(line).unwrap_err().0;
        assert_eq!(bad(b""), "bad mount ID");
        assert_eq!(bad(b"x 1 0:1 / / rw - t s o"), "bad mount ID");
        assert_eq!(bad(b"1 1 01 / / rw - t s o"), "bad major:minor");
        assert_eq!(bad(b"1 1 0:1 / / rw shared:1 t s o"), "no ' - ' separator");
        assert_eq!(bad(b"1 1 0:1 / / rw -"), "no filesystem type");
        assert_eq!(bad(b"1 1 0:1 / / rw - t"), "no source");
        // No superblock options at all is accepted (they are then empty).
        assert_eq!(parse(b"1 1 0:1 / / rw - t s").super_options, b"");
    }

    /// A pipe holding `text`, its write end closed.
    fn pipe_with(text: &[u8]) -> OwnedFd {
        let (read, write) = rustix::pipe::pipe().unwrap();
        crate::out::write_all(&write, text);
        read
    }

    #[test]
    fn the_reader_streams_lines_through_a_small_buffer() {
        let mut file = std::vec::Vec::new();
        for line in [SYSTEMD_ROOT, HERE_BIND, ALL_ESCAPES, HERE_PROPAGATE_FROM] {
            file.extend_from_slice(line);
            file.push(b'\n');
        }
        // A buffer just big enough for the longest line: lines straddle reads.
        let mut reader = MountinfoReader::<200>::from_fd(pipe_with(&file));
        let mut ids = std::vec::Vec::new();
        while let Some(entry) = reader.next_entry() {
            ids.push(entry.unwrap().mount_id);
        }
        assert_eq!(ids, [35, 42, 649, 44]);
    }

    #[test]
    fn lines_over_the_limit_are_skipped_and_reported() {
        let text = b"short\n0123456789abcdef-long\nok\n0123456789abcdefg\nlast-no-newline";
        let mut reader = LineReader::<16>::new(pipe_with(text));
        let mut seen = std::vec::Vec::new();
        while let Some(line) = reader.next_line() {
            seen.push(line.map(|l| std::string::String::from_utf8(l.to_vec()).unwrap()));
        }
        assert_eq!(
            seen,
            [
                Ok("short".into()),
                Err(LineError::TooLong { line: 2 }),
                Ok("ok".into()),
                Err(LineError::TooLong { line: 4 }),
                Ok("last-no-newline".into()),
            ]
        );
        // A line fits with its newline; an empty file has no lines.
        let mut reader = LineReader::<5>::new(pipe_with(b"abcd\n"));
        assert_eq!(reader.next_line(), Some(Ok(&b"abcd"[..])));
        assert_eq!(reader.next_line(), None);
        let mut reader = LineReader::<4>::new(pipe_with(b"abcd\n"));
        assert_eq!(
            reader.next_line(),
            Some(Err(LineError::TooLong { line: 1 }))
        );
        let mut reader = LineReader::<4>::new(pipe_with(b""));
        assert_eq!(reader.next_line(), None);
        // An over-long last line without a newline is reported too.
        let mut reader = LineReader::<4>::new(pipe_with(b"abcdefgh"));
        assert_eq!(
            reader.next_line(),
            Some(Err(LineError::TooLong { line: 1 }))
        );
        assert_eq!(reader.next_line(), None);
    }

    #[test]
    fn this_machines_own_table_parses() {
        let mut reader = MountinfoReader::open(None).unwrap();
        let mut root_seen = false;
        while let Some(entry) = reader.next_entry() {
            let entry = entry.unwrap();
            root_seen |= entry.mount_point.is(b"/");
        }
        assert!(root_seen);
        assert_eq!(path_of(Some(42)).as_bytes(), b"/proc/42/mountinfo");
        assert_eq!(path_of(None).as_bytes(), b"/proc/self/mountinfo");
    }

    // ---- property tests: fuzz/checks/mountinfo.rs on pseudo-random lines ----

    use crate::test_rng::Rng;

    /// What paths and names are made of: the kernel's escapes, escapes it
    /// never writes (`\400`, a short `\04`), and bytes a terminal reads as
    /// controls (ESC, DEL, U+0085, U+009B) or that are not UTF-8.
    const PATH_PIECES: &[&[u8]] = &[
        b"/",
        b"tmp",
        b"a",
        b"\\040",
        b"\\011",
        b"\\012",
        b"\\134",
        b"\\",
        b"\\400",
        b"\\377",
        b"\\0",
        b"\\04",
        b"\\1234",
        b"-",
        b":",
        b"\xc3\xa9",
        b"\xc2\x85",
        b"\xc2\x9b[2J",
        b"\x1b",
        b"\x7f",
        b"\xff",
        b"\t",
    ];

    fn random_path(rng: &mut Rng) -> Vec<u8> {
        let mut path = Vec::new();
        for _ in 0..rng.below(8) {
            let piece = rng.pick(PATH_PIECES);
            // Now and then past box's PATH_MAX, or past PATH_BYTES decoded.
            let copies = if rng.below(20) == 0 {
                1 + rng.below(1100)
            } else {
                1
            };
            path.extend(piece.repeat(copies));
        }
        path
    }

    /// Mostly one of `good`, one time in eight one of `odd`.
    fn mostly(rng: &mut Rng, good: &[&[u8]], odd: &[&[u8]]) -> Vec<u8> {
        match rng.below(8) {
            0 => rng.pick(odd).to_vec(),
            _ => rng.pick(good).to_vec(),
        }
    }

    /// A line as the kernel writes it, or nearly: now and then a field
    /// that is wrong, missing or doubled, or a few bytes changed.
    fn random_line(rng: &mut Rng) -> Vec<u8> {
        const NUMBERS: &[&[u8]] = &[b"0", b"27", b"4294967295"];
        const ODD_NUMBERS: &[&[u8]] = &[b"007", b"4294967296", b"x", b"-1", b""];
        const DEVICES: &[&[u8]] = &[b"254:0", b"0:26", b"4294967295:1"];
        const ODD_DEVICES: &[&[u8]] = &[b"1:", b":1", b"01", b"1:2:3"];
        const OPTIONAL: &[&[u8]] = &[
            b"shared:1",
            b"master:2",
            b"propagate_from:3",
            b"unbindable",
            b"shared:x",
            b"master:4294967296",
            b"future:9",
            b"-x",
        ];
        const SUPER: &[&[u8]] = &[b"rw", b"", b"rw,unc=\\\\a b c", b"rw - x"];
        let mut fields: Vec<Vec<u8>> = vec![
            mostly(rng, NUMBERS, ODD_NUMBERS),
            mostly(rng, NUMBERS, ODD_NUMBERS),
            mostly(rng, DEVICES, ODD_DEVICES),
            random_path(rng),
            random_path(rng),
            mostly(rng, &[b"rw,relatime", b"ro"], &[b"", b"-"]),
        ];
        for _ in 0..rng.below(4) {
            fields.push(rng.pick(OPTIONAL).to_vec());
        }
        fields.push(b"-".to_vec());
        fields.push(random_path(rng));
        fields.push(random_path(rng));
        fields.push(rng.pick(SUPER).to_vec());
        if rng.below(8) == 0 {
            let at = rng.below(fields.len());
            match rng.below(2) {
                0 => drop(fields.remove(at)),
                _ => fields.insert(at, Vec::new()),
            }
        }
        let mut line = fields.join(&b' ');
        if rng.below(4) == 0 {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(line.len() + 1);
                match rng.below(2) {
                    0 => line.insert(at, rng.next() as u8),
                    _ => drop(line.drain(at..(at + 1 + rng.below(8)).min(line.len()))),
                }
            }
        }
        line
    }

    #[test]
    fn random_lines_parse_and_round_trip() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let mut parsed = 0;
        for _ in 0..5000 {
            let line = random_line(&mut rng);
            parsed += usize::from(MountEntry::parse(&line).is_ok());
            checks::check_line(&line);
        }
        // Most lines must get through, or the round trip was hardly tried.
        assert!(parsed > 2500, "only {parsed} of 5000 lines parsed");
    }

    #[test]
    fn random_files_read_line_by_line() {
        let mut rng = Rng(0x5eed_1234_abcd_0002);
        for _ in 0..300 {
            let mut file = Vec::new();
            for _ in 0..rng.below(12) {
                file.extend(random_line(&mut rng));
                match rng.below(8) {
                    0 => {}
                    1 => file.extend_from_slice(b"\n\n"),
                    // Now and then a line longer than the reader's buffer.
                    2 => {
                        file.extend(b"x".repeat(MOUNT_LINE_MAX - 2 + rng.below(4)));
                        file.push(b'\n');
                    }
                    _ => file.push(b'\n'),
                }
            }
            checks::check_file(&file);
        }
    }
}
