//! Checks of the mountinfo reader (src/mountinfo.rs), shared by the fuzz
//! target `mountinfo` and the unit tests of src/mountinfo.rs, which include
//! this file.
//!
//! - [`LineReader`] hands out exactly the lines of a file (as split on
//!   `\n`), with buffers of 1, 16 and [`MOUNT_LINE_MAX`] bytes: a line that does not
//!   fit is reported as too long, by its number, and nothing else is lost.
//! - [`MountEntry::parse`] never panics, and an accepted entry written back
//!   as the kernel writes lines parses to the same entry.
//! - The escaped fields decode the same way through every accessor, are
//!   shown on one line without control characters, and a decoded field
//!   escaped again as the kernel does decodes to itself.

use rustix::fd::OwnedFd;

use crate::mountinfo::{Escaped, LineError, LineReader, MOUNT_LINE_MAX, MountEntry, PATH_BYTES};
use crate::text;

/// A whole mountinfo file: read through readers of three sizes, and each
/// line parsed.
pub fn check_file(data: &[u8]) {
    check_reader::<1>(data);
    check_reader::<16>(data);
    check_reader::<MOUNT_LINE_MAX>(data);
    for line in file_lines(data) {
        check_line(line);
    }
}

/// The lines of a file: split on `\n`, the empty piece after a final
/// newline (or of an empty file) not being a line.
fn file_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

/// What a reader with an `N`-byte buffer gives for each line: the line when
/// it fits with its newline (`len < N`), else the line's number.
fn check_reader<const N: usize>(data: &[u8]) {
    let expected = file_lines(data);
    let mut reader = LineReader::<N>::new(file_with(data));
    let mut count = 0;
    while let Some(got) = reader.next_line() {
        let want = expected.get(count).expect("more lines than the file has");
        count += 1;
        match got {
            Ok(line) => assert_eq!(line, *want, "line {count}, buffer {N}"),
            Err(LineError::TooLong { line }) => {
                assert!(want.len() >= N, "line {count} fits in {N} bytes");
                assert_eq!(line, count);
            }
            Err(LineError::Read(e)) => panic!("read: {e:?}"),
        }
        assert_eq!(reader.line_number(), count);
    }
    assert_eq!(count, expected.len(), "lines lost, buffer {N}");
    assert!(reader.next_line().is_none(), "lines after the end");
}

/// A memfd holding `data`, at offset 0.
fn file_with(data: &[u8]) -> OwnedFd {
    use rustix::fs::{MemfdFlags, SeekFrom};
    let fd = rustix::fs::memfd_create(c"mountinfo", MemfdFlags::CLOEXEC).expect("memfd_create");
    let mut rest = data;
    while !rest.is_empty() {
        let n = rustix::io::write(&fd, rest).expect("write");
        rest = &rest[n..];
    }
    rustix::fs::seek(&fd, SeekFrom::Start(0)).expect("lseek");
    fd
}

/// One line: parsed, and if accepted, written back and parsed again.
pub fn check_line(line: &[u8]) {
    let Ok(entry) = MountEntry::parse(line) else {
        return;
    };
    // The fields are fields: no space in them.
    for field in [
        entry.root.0,
        entry.mount_point.0,
        entry.options,
        entry.fstype.0,
        entry.source.0,
    ] {
        assert!(!field.contains(&b' '), "a field with a space in {line:?}");
    }
    // Written back as the kernel would, it reads the same; and writing that
    // again gives the same bytes.
    let written = render(&entry);
    let again = MountEntry::parse(&written).expect("a written-back entry is refused");
    assert_same(&entry, &again);
    assert_eq!(render(&again), written);

    for field in [entry.root, entry.mount_point, entry.fstype, entry.source] {
        check_decoding(field);
    }
}

/// An entry as a line of mountinfo: the optional fields are those box
/// knows (unknown ones are dropped on parsing).
fn render(e: &MountEntry<'_>) -> Vec<u8> {
    let mut out = format!("{} {} {}:{} ", e.mount_id, e.parent_id, e.major, e.minor).into_bytes();
    for field in [e.root.0, e.mount_point.0, e.options] {
        out.extend_from_slice(field);
        out.push(b' ');
    }
    let p = e.propagation;
    let optional = [
        p.shared.map(|n| format!("shared:{n}")),
        p.master.map(|n| format!("master:{n}")),
        p.propagate_from.map(|n| format!("propagate_from:{n}")),
        p.unbindable.then(|| "unbindable".to_string()),
    ];
    for field in optional.into_iter().flatten() {
        out.extend_from_slice(field.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(b"- ");
    for field in [e.fstype.0, e.source.0] {
        out.extend_from_slice(field);
        out.push(b' ');
    }
    out.extend_from_slice(e.super_options);
    out
}

fn assert_same(a: &MountEntry<'_>, b: &MountEntry<'_>) {
    assert_eq!(
        (a.mount_id, a.parent_id, a.major, a.minor),
        (b.mount_id, b.parent_id, b.major, b.minor)
    );
    assert_eq!((a.root, a.mount_point), (b.root, b.mount_point));
    assert_eq!(a.options, b.options);
    assert_eq!(a.propagation, b.propagation);
    assert_eq!((a.fstype, a.source), (b.fstype, b.source));
    assert_eq!(a.super_options, b.super_options);
}

/// Every way of reading an escaped field agrees with [`Escaped::bytes`].
fn check_decoding(field: Escaped<'_>) {
    let decoded: Vec<u8> = field.bytes().collect();
    assert!(decoded.len() <= field.0.len(), "decoding made it longer");
    assert!(field.is(&decoded));

    let text: text::Text<PATH_BYTES> = field.decode();
    let fits = decoded.len() <= PATH_BYTES;
    assert_eq!(text.as_bytes(), &decoded[..decoded.len().min(PATH_BYTES)]);
    assert_eq!(text.overflowed(), !fits);

    let path_ok = decoded.len() <= text::PATH_MAX && !decoded.contains(&0);
    match field.to_cpath() {
        Some(path) => {
            assert!(path_ok);
            assert_eq!(path.as_bytes(), decoded);
        }
        None => assert!(!path_ok),
    }

    // Shown on one line, in as many columns as `width` says, with no
    // control character a terminal would act on (C0, DEL or C1: U+0085 is
    // a line break, U+009B starts an escape sequence).
    let shown = field.to_string();
    assert!(!shown.contains(char::is_control), "{shown:?}");
    assert_eq!(shown.chars().count(), field.width(), "{shown:?}");

    // The kernel's escaping (space, tab, newline, backslash) reverses it.
    let escaped = escape(&decoded);
    assert!(Escaped(&escaped).is(&decoded));
}

/// A path escaped as the kernel writes it in mountinfo (`\040` for a space,
/// `\011` tab, `\012` newline, `\134` backslash).
fn escape(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
            _ => out.push(b),
        }
    }
    out
}
