//! unshare's ranges of ids: `--map-users`, `--map-groups`, `--map-auto`,
//! `--map-subids` (util-linux 2.38, 2.41). A range is written as
//! util-linux ≥ 2.39 writes it, `INNER:OUTER:COUNT` (the order of
//! /proc/PID/uid_map), or as 2.38 did, `OUTER,INNER,COUNT`; or it is
//! `auto` (the user's first range of /etc/subuid or /etc/subgid, from 0
//! inside), `subids` (the same range, mapped to itself) or `all` (every id
//! of our own map, to itself).
//!
//! The maps are written from outside the new user namespace, by a
//! [`Helper`](crate::sys::process::Helper) forked before unshare(2): as
//! root it writes /proc/PID/uid_map itself, otherwise it runs newuidmap
//! and newgidmap (shadow's setuid tools, which check /etc/subuid and
//! /etc/subgid), as util-linux does.

use core::ffi::CStr;

use super::super::util_linux::{self, fail};
use crate::bad;
use crate::error::{Context, Result};
use crate::options::Given;
use crate::sys::entry::Args;
use crate::sys::exec::{self, CStrArray};
use crate::text::{CPath, parse_u32};

/// One line of a uid or gid map: `count` ids from `outer` (ours) seen as
/// from `inner` inside.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Range {
    pub inner: u32,
    pub outer: u32,
    pub count: u32,
}

/// At most this many lines in a map box writes (the kernel takes 340).
pub const MAX_RANGES: usize = 32;

pub type Ranges = heapless::Vec<Range, MAX_RANGES>;

/// Users or groups.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn subids(self) -> &'static CStr {
        match self {
            Kind::Users => c"/etc/subuid",
            Kind::Groups => c"/etc/subgid",
        }
    }

    fn map_file(self) -> &'static [u8] {
        match self {
            Kind::Users => b"uid_map",
            Kind::Groups => b"gid_map",
        }
    }

    fn tool(self) -> &'static CStr {
        match self {
            Kind::Users => c"newuidmap",
            Kind::Groups => c"newgidmap",
        }
    }
}

/// Add what one `--map-users` or `--map-groups` value says to `ranges`;
/// `uid` is the caller's effective uid, whose subordinate ids `auto` and
/// `subids` take (for groups too, as util-linux).
pub fn add(ranges: &mut Ranges, kind: Kind, given: &Given, word: &[u8], uid: u32) -> Result<()> {
    // The words from a table: a `match` on them compares byte by byte.
    match [&b"auto"[..], b"subids", b"all"]
        .iter()
        .position(|w| *w == word)
    {
        Some(which @ (0 | 1)) => {
            let (first, count) = util_linux::sub_ids(kind.subids(), uid)?;
            let inner = if which == 0 { 0 } else { first };
            push(
                ranges,
                given,
                Range {
                    inner,
                    outer: first,
                    count,
                },
            )
        }
        Some(_) => {
            // `all`: ours, line by line: every id we have, passed through.
            let path = match kind {
                Kind::Users => c"/proc/self/uid_map",
                Kind::Groups => c"/proc/self/gid_map",
            };
            let mut buf = [0u8; 4096];
            let n = crate::sys::fs::read_into(path, &mut buf).at(
                packed!("read our own id map"),
                "open",
                path.to_bytes(),
            )?;
            for line in buf[..n].split(|&b| b == b'\n') {
                let mut words = line
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty());
                let (Some(inner), Some(_), Some(count)) =
                    (words.next(), words.next(), words.next())
                else {
                    continue;
                };
                if let (Some(first), Some(count)) = (parse_u32(inner), parse_u32(count)) {
                    push(
                        ranges,
                        given,
                        Range {
                            inner: first,
                            outer: first,
                            count,
                        },
                    )?;
                }
            }
            Ok(())
        }
        None => push(ranges, given, parse(given, word)?),
    }
}

/// Add `range`, if there is room.
#[inline(never)]
fn push(ranges: &mut Ranges, given: &Given, range: Range) -> Result<()> {
    ranges
        .push(range)
        .map_err(|_| bad!("{}: more than {} ranges", given, MAX_RANGES))
}

/// `INNER:OUTER:COUNT`, or 2.38's `OUTER,INNER,COUNT`.
fn parse(given: &Given, word: &[u8]) -> Result<Range> {
    let numbers = |sep: u8| -> Option<[u32; 3]> {
        let mut parts = word.split(|&b| b == sep);
        let n = [
            parse_u32(parts.next()?)?,
            parse_u32(parts.next()?)?,
            parse_u32(parts.next()?)?,
        ];
        parts.next().is_none().then_some(n)
    };
    if let Some([inner, outer, count]) = numbers(b':') {
        return Ok(Range {
            inner,
            outer,
            count,
        });
    }
    if let Some([outer, inner, count]) = numbers(b',') {
        return Ok(Range {
            inner,
            outer,
            count,
        });
    }
    Err(util_linux::bad_value(
        given,
        " ",
        word,
        "use INNER:OUTER:COUNT (or OUTER,INNER,COUNT), auto, subids or all",
    ))
}

/// `ranges` with the single id `outer` → `inner` of `--map-user`, `-r` or
/// `-c` first, as util-linux: a range it overlaps (on either side) loses
/// its last id and skips that one id on each side, so that no id is mapped
/// twice. (util-linux also counts an id just past a range's end as an
/// overlap, and maps one id fewer there; box only an id within.)
pub fn with_single(ranges: &Ranges, single: Option<(u32, u32)>) -> Result<Ranges> {
    let mut out = Ranges::new();
    let full = || bad!("more than {} ranges to map", MAX_RANGES);
    let Some((outer, inner)) = single else {
        return Ok(ranges.clone());
    };
    out.push(Range {
        inner,
        outer,
        count: 1,
    })
    .map_err(|_| full())?;
    for r in ranges {
        let within =
            |first: u32, id: u32| id >= first && u64::from(id) < first as u64 + r.count as u64;
        let overlaps = within(r.outer, outer) || within(r.inner, inner);
        let n = u64::from(r.count) - u64::from(overlaps);
        // Where each side's run of ids steps over the single id.
        let skip_at = |first: u32, id: u32| match id.checked_sub(first) {
            Some(offset) => u64::from(offset),
            None => u64::MAX,
        };
        let (skip_outer, skip_inner) = (skip_at(r.outer, outer), skip_at(r.inner, inner));
        let a = skip_outer.min(skip_inner).min(n);
        let b = skip_outer.max(skip_inner).min(n);
        for (start, end) in [(0, a), (a, b), (b, n)] {
            if start == end {
                continue;
            }
            let id = |first: u32, skip: u64| first as u64 + start + u64::from(start >= skip);
            out.push(Range {
                inner: id(r.inner, skip_inner) as u32,
                outer: id(r.outer, skip_outer) as u32,
                count: (end - start) as u32,
            })
            .map_err(|_| full())?;
        }
    }
    Ok(out)
}

/// The helper's work, outside the new user namespace: the map of process
/// `pid`, written to /proc/PID/uid_map (gid_map) as root, else given to
/// newuidmap (newgidmap). Its exit status; it says what failed itself. Runs
/// in a forked child: no allocation.
pub fn write(kind: Kind, pid: u32, ranges: &Ranges, env: Args) -> u8 {
    let step = packed!("map the user namespace");
    let root = rustix::process::geteuid().is_root();
    // The numbers in one buffer: as root the map's lines, `INNER OUTER
    // COUNT`; else newuidmap's words PID INNER OUTER COUNT…,
    // NUL-separated, the array below pointing into it.
    let mut words = [0u8; 12 + MAX_RANGES * 3 * 11];
    let mut len = 0;
    let mut push = |n: u32, end: u8, words: &mut [u8]| {
        let mut digits = [0u8; 20];
        let digits = crate::text::decimal(n as u64, &mut digits);
        words[len..len + digits.len()].copy_from_slice(digits);
        words[len + digits.len()] = end;
        len += digits.len() + 1;
    };
    let (space, newline) = match root {
        true => (b' ', b'\n'),
        false => {
            push(pid, 0, &mut words);
            (0, 0)
        }
    };
    for r in ranges {
        push(r.inner, space, &mut words);
        push(r.outer, space, &mut words);
        push(r.count, newline, &mut words);
    }
    if root {
        let mut path = CPath::proc(Some(pid), b"/");
        let _ = path.push(kind.map_file());
        let written = crate::sys::fs::write_control(path.as_cstr(), &words[..len]).at(
            step,
            "write",
            path.as_bytes(),
        );
        return match written {
            Ok(_) => 0,
            Err(e) => fail(
                "unshare",
                &e.hint(packed!("the kernel refuses ranges that overlap")),
            ),
        };
    }
    let mut argv = CStrArray::<{ 3 + MAX_RANGES * 3 }>::new();
    let _ = argv.push(kind.tool());
    for word in words[..len].split_inclusive(|&b| b == 0) {
        if let Ok(word) = CStr::from_bytes_with_nul(word) {
            let _ = argv.push(word);
        }
    }
    let search = env
        .env(b"PATH")
        .unwrap_or(crate::container::plan::DEFAULT_PATH);
    let (errno, _) = exec::exec_search(kind.tool(), argv.argv(), env.envp(), search);
    let error =
        crate::error::Error::sys(step, "execve", kind.tool().to_bytes(), errno).hint(packed!(
            "without root, ranges are mapped by newuidmap and newgidmap (shadow's uidmap package)"
        ));
    fail("unshare", &error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Bytes;

    const GIVEN: Given = Given::Long("map-users");

    fn range(inner: u32, outer: u32, count: u32) -> Range {
        Range {
            inner,
            outer,
            count,
        }
    }

    #[test]
    fn both_orders() {
        assert_eq!(
            parse(&GIVEN, b"0:100000:65536").unwrap(),
            range(0, 100000, 65536)
        );
        assert_eq!(
            parse(&GIVEN, b"100000,0,65536").unwrap(),
            range(0, 100000, 65536)
        );
        for bad in [&b"1:2"[..], b"1:2:3:4", b"1,2:3", b"a:b:c", b""] {
            assert!(parse(&GIVEN, bad).is_err(), "{}", Bytes(bad));
        }
    }

    /// util-linux's example: subuid 100000:65536, `--map-auto -r`.
    #[test]
    fn a_single_id_punches_a_hole() {
        let mut ranges = Ranges::new();
        ranges.push(range(0, 100000, 65536)).unwrap();
        let out = with_single(&ranges, Some((1000, 0))).unwrap();
        assert_eq!(out[..], [range(0, 1000, 1), range(1, 100000, 65535)]);
        // Inside and outside both overlapped: three pieces.
        let mut ranges = Ranges::new();
        ranges.push(range(0, 0, 10)).unwrap();
        let out = with_single(&ranges, Some((3, 6))).unwrap();
        assert_eq!(
            out[..],
            [
                range(6, 3, 1),
                range(0, 0, 3),
                range(3, 4, 3),
                range(7, 7, 3)
            ]
        );
        // No overlap: the range stays whole.
        let out = with_single(&ranges, Some((50, 60))).unwrap();
        assert_eq!(out[..], [range(60, 50, 1), range(0, 0, 10)]);
        assert_eq!(with_single(&ranges, None).unwrap()[..], ranges[..]);
    }
}
