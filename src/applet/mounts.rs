//! `box mounts [PID]`: a process's mount table with each mount's
//! propagation, and `box mount --make-{private,slave,shared,unbindable}
//! [-R] PATH` to change it (util-linux's spellings, `--make-rshared` etc.
//! included).
//!
//! Propagation decides whether a mount made in one namespace shows up in
//! another (mount_namespaces(7)): it is what to look at when a container's
//! mounts leak to the host, or the host's never reach the container.

use core::fmt::Write;

use rustix::io::Errno;
use rustix::mount::MountPropagationFlags;

use crate::args::{Opt, Parser};
use crate::error::{EXIT_BOX, Error, Result};
use crate::mountinfo::{MountEntry, MountinfoReader, Readable, path_of};
use crate::out::Writer;
use crate::sys::entry::Args;
use crate::sys::mount_point;
use crate::text::{Bytes, parse_u32};
use crate::{bad, errln, outln};

pub fn main(args: Args) -> u8 {
    match show_mounts(args) {
        Ok(code) => code,
        Err(e) => {
            errln!("box: mounts: {e}");
            e.code
        }
    }
}

/// Columns: wide enough for most values, capped so that one long path does
/// not push every line off the screen (a longer value just overflows).
const COLUMNS: [(&str, usize); 4] = [
    ("TARGET", 40),
    ("FSTYPE", 12),
    ("SOURCE", 32),
    ("OPTIONS", 40),
];

fn show_mounts(args: Args) -> Result<u8> {
    let mut p = Parser::new(args);
    if let Some(opt) = p.next()? {
        if matches!(opt, Opt::Short(b'h') | Opt::Long(b"help")) {
            outln!("usage: box mounts [PID]");
            outln!("The mount table of PID (default: box itself) from /proc/PID/mountinfo:");
            outln!("target, filesystem type, source ([root] for a bind of a subtree), mount");
            outln!("options and propagation: shared:N (peer group N), master:N (slave of");
            outln!("group N), propagate_from:N, private, unbindable.");
            return Ok(0);
        }
        return Err(p.unknown(opt));
    }
    let rest = p.rest();
    if rest.len() > 1 {
        return Err(bad!("usage: box mounts [PID]"));
    }
    let pid = match rest.get(0) {
        None => None,
        Some(word) => Some(parse_pid(word.to_bytes())?),
    };

    // Two passes over the file: the first sizes the columns, the second
    // prints. A mount that comes or goes in between only shifts alignment.
    let mut widths = COLUMNS.map(|(name, _)| name.len());
    let mut reader = open(pid)?;
    while let Some(entry) = reader.next_entry() {
        let Ok(entry) = entry else { continue };
        for (width, (value, (_, cap))) in widths
            .iter_mut()
            .zip(row_widths(&entry).into_iter().zip(COLUMNS))
        {
            *width = (*width).max(value.min(cap));
        }
    }

    let mut out = Writer::new(crate::sys::fd::stdout());
    for ((name, _), width) in COLUMNS.iter().zip(widths) {
        let _ = write!(out, "{name:<width$}  ");
    }
    out.bytes(b"PROPAGATION\n");
    let mut complete = true;
    let mut reader = open(pid)?;
    while let Some(entry) = reader.next_entry() {
        match entry {
            Ok(entry) => print_row(&mut out, &entry, &widths),
            Err(e) => {
                out.flush();
                errln!("box: mounts: {}: {e}", path_of(pid));
                complete = false;
            }
        }
    }
    // A table with a line missing must not pass for a whole one.
    Ok(if complete { 0 } else { EXIT_BOX })
}

/// A PID operand: a positive decimal number.
fn parse_pid(word: &[u8]) -> Result<u32> {
    parse_u32(word)
        .filter(|&pid| pid > 0)
        .ok_or_else(|| bad!("{}: not a PID (a positive number)", Bytes(word)))
}

fn open(pid: Option<u32>) -> Result<MountinfoReader> {
    MountinfoReader::open(pid).map_err(|errno| match (pid, errno) {
        (Some(pid), Errno::NOENT) => bad!("no process with PID {pid}"),
        (Some(pid), Errno::INVAL) => bad!("process {pid} has exited (not yet reaped)"),
        _ => Error::sys(
            "read the mount table",
            "open",
            path_of(pid).as_bytes(),
            errno,
        ),
    })
}

/// Display widths of the first four columns of `entry`.
fn row_widths(entry: &MountEntry<'_>) -> [usize; 4] {
    let source = entry.source.width()
        + if entry.root.is(b"/") {
            0
        } else {
            entry.root.width() + 2
        };
    [
        entry.mount_point.width(),
        entry.fstype.width(),
        source,
        Readable(entry.options).width(),
    ]
}

fn print_row(out: &mut Writer<'_>, entry: &MountEntry<'_>, widths: &[usize; 4]) {
    let value = row_widths(entry);
    // Two spaces between columns, even after a value wider than its column.
    let pad = |out: &mut Writer<'_>, column: usize| {
        for _ in value[column]..widths[column].max(value[column]) + 2 {
            out.bytes(b" ");
        }
    };
    let _ = write!(out, "{}", entry.mount_point);
    pad(out, 0);
    let _ = write!(out, "{}", entry.fstype);
    pad(out, 1);
    // As findmnt: the source, and for a bind mount of a subtree the
    // subtree's path within the filesystem in brackets.
    let _ = write!(out, "{}", entry.source);
    if !entry.root.is(b"/") {
        let _ = write!(out, "[{}]", entry.root);
    }
    pad(out, 2);
    let _ = write!(out, "{}", Readable(entry.options));
    pad(out, 3);
    let _ = writeln!(out, "{}", entry.propagation);
}

/// One of util-linux's propagation options.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Change {
    option: &'static str,
    flag: MountPropagationFlags,
    /// For the whole subtree (MS_REC).
    recursive: bool,
}

const fn change(option: &'static str, flag: MountPropagationFlags, recursive: bool) -> Change {
    Change {
        option,
        flag,
        recursive,
    }
}

/// util-linux's spellings and the mount(2) flag each sets.
const CHANGES: &[Change] = &[
    change("--make-shared", MountPropagationFlags::SHARED, false),
    change("--make-slave", MountPropagationFlags::DOWNSTREAM, false),
    change("--make-private", MountPropagationFlags::PRIVATE, false),
    change(
        "--make-unbindable",
        MountPropagationFlags::UNBINDABLE,
        false,
    ),
    change("--make-rshared", MountPropagationFlags::SHARED, true),
    change("--make-rslave", MountPropagationFlags::DOWNSTREAM, true),
    change("--make-rprivate", MountPropagationFlags::PRIVATE, true),
    change(
        "--make-runbindable",
        MountPropagationFlags::UNBINDABLE,
        true,
    ),
];

impl Change {
    fn find(long_option: &[u8]) -> Option<Change> {
        CHANGES
            .iter()
            .find(|c| c.option.as_bytes().strip_prefix(b"--") == Some(long_option))
            .copied()
    }

    /// The recursive spelling of the same change (what `-R` makes of it).
    fn made_recursive(self) -> Change {
        CHANGES
            .iter()
            .find(|c| c.flag == self.flag && c.recursive)
            .copied()
            .unwrap_or(self)
    }

    fn flags(self) -> MountPropagationFlags {
        if self.recursive {
            self.flag | MountPropagationFlags::REC
        } else {
            self.flag
        }
    }
}

/// Most `--make-*` options in one call (util-linux applies several in order,
/// e.g. `--make-slave --make-shared` for a mount that is both).
const MAX_CHANGES: usize = 4;

pub fn mount(args: Args) -> u8 {
    match change_propagation(args) {
        Ok(()) => 0,
        Err(e) => {
            errln!("box: mount: {e}");
            e.code
        }
    }
}

fn change_propagation(args: Args) -> Result<()> {
    let mut changes: heapless::Vec<Change, MAX_CHANGES> = heapless::Vec::new();
    let mut recursive = false;
    let mut p = Parser::new(args);
    while let Some(opt) = p.next()? {
        match opt {
            Opt::Short(b'R') | Opt::Long(b"recursive") => recursive = true,
            Opt::Short(b'h') | Opt::Long(b"help") => {
                outln!("usage: box mount --make-{{shared,slave,private,unbindable}} [-R] PATH");
                outln!("Changes the propagation of the mount at PATH (mount_namespaces(7)).");
                outln!("--make-rshared etc., or -R, change every mount below PATH too.");
                outln!("Several --make-* apply in order (--make-slave --make-shared).");
                return Ok(());
            }
            Opt::Long(name) => {
                let change = Change::find(name).ok_or_else(|| p.unknown(opt))?;
                changes
                    .push(change)
                    .map_err(|_| bad!("at most {MAX_CHANGES} --make-* options at a time"))?;
            }
            Opt::Short(_) => return Err(p.unknown(opt)),
        }
    }
    let rest = p.rest();
    if changes.is_empty() || rest.len() != 1 {
        return Err(bad!(
            "usage: box mount --make-{{shared,slave,private,unbindable}} [-R] PATH \
             (box mount only changes propagation)"
        ));
    }
    let path = rest.get(0).unwrap_or(c"");
    for &change in &changes {
        let change = if recursive {
            change.made_recursive()
        } else {
            change
        };
        rustix::mount::mount_change(path, change.flags()).map_err(|errno| {
            Error::sys(change.option, "mount", path.to_bytes(), errno)
                .hint(change_hint(path, errno))
        })?;
    }
    Ok(())
}

/// The likely cause of a failed propagation change.
fn change_hint(path: &core::ffi::CStr, errno: Errno) -> &'static str {
    match errno {
        // mount(2): EINVAL for a propagation change on a path that is not
        // a mount point, or a mount of another mount namespace.
        Errno::INVAL => match mount_point::placement(path) {
            Ok(p) if p.is_mount_point == Some(true) => "not a mount in this mount namespace",
            _ => "not a mount point",
        },
        Errno::PERM => "needs CAP_SYS_ADMIN in the mount namespace's user namespace",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_their_recursive_forms() {
        let private = Change::find(b"make-private").unwrap();
        assert_eq!(private.flags(), MountPropagationFlags::PRIVATE);
        let rprivate = private.made_recursive();
        assert_eq!(rprivate.option, "--make-rprivate");
        assert_eq!(
            rprivate.flags(),
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC
        );
        assert_eq!(Change::find(b"make-rprivate"), Some(rprivate));
        assert_eq!(rprivate.made_recursive(), rprivate);
        assert!(Change::find(b"make-bogus").is_none());
        assert!(Change::find(b"--make-shared").is_none());
    }

    #[test]
    fn pids_are_positive_numbers() {
        assert_eq!(parse_pid(b"42").unwrap(), 42);
        assert!(parse_pid(b"0").is_err());
        assert!(parse_pid(b"abc").is_err());
        assert!(parse_pid(b"4294967296").is_err());
    }
}
