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

use crate::args::CommandLine;
use crate::error::{EXIT_BOX, Error, Result};
use crate::mountinfo::{MountEntry, MountinfoReader, Readable, path_of};
use crate::options::{Command, NoOption, Opt, Usage};
use crate::out::Writer;
use crate::out::finish;
use crate::sys::entry::Args;
use crate::sys::mount_point;
use crate::text::{Bytes, parse_u32};
use crate::{bad, errln};

pub fn main(args: Args) -> u8 {
    finish(&MOUNTS, show_mounts(args))
}

pub const MOUNTS: Command<NoOption> = Command {
    usage: Usage {
        name: "box mounts",
        synopsis: &["[PID]"],
        about: packed!(
            "The mount table of PID (default: box itself) from /proc/PID/mountinfo:\n\
                target, filesystem type, source ([root] for a bind of a subtree), mount\n\
                options and propagation: shared:N (peer group N), master:N (slave of\n\
                group N), propagate_from:N, private, unbindable."
        ),
        notes: packed!(""),
    },
    options: &[],
};

/// Columns: wide enough for most values, capped so that one long path does
/// not push every line off the screen (a longer value just overflows).
const COLUMNS: [(&str, usize); 4] = [
    ("TARGET", 40),
    ("FSTYPE", 12),
    ("SOURCE", 32),
    ("OPTIONS", 40),
];

fn show_mounts(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &MOUNTS);
    if let Some(found) = line.next()? {
        match found.action {}
    }
    let rest = line.rest();
    if rest.len() > 1 {
        return Err(MOUNTS.usage.error());
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
        (Some(pid), Errno::NOENT) => bad!("no process with PID {}", pid),
        (Some(pid), Errno::INVAL) => bad!("process {} has exited (not yet reaped)", pid),
        _ => Error::sys(
            packed!("read the mount table"),
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
pub struct Change {
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

/// What an option of box mount does.
#[derive(Clone, Copy, Debug)]
pub enum MountOption {
    Change(Change),
    Recursive,
}

/// `box mount`: util-linux's spellings, and the mount(2) flag each sets.
pub const MOUNT: Command<MountOption> = {
    use MountOption::Change as Make;
    use MountPropagationFlags as Flag;
    Command {
        usage: Usage {
            name: "box mount",
            synopsis: &["--make-{shared,slave,private,unbindable} [-R] PATH"],
            about: packed!(
                "Changes the propagation of the mount at PATH (mount_namespaces(7)).\n\
                    Several --make-* apply in order (--make-slave --make-shared)."
            ),
            notes: packed!(""),
        },
        options: &[
            Opt::flag(
                "make-shared",
                packed!("events propagate both ways in a peer group"),
                Make(change("--make-shared", Flag::SHARED, false)),
            ),
            Opt::flag(
                "make-slave",
                packed!("events only come in, from the master"),
                Make(change("--make-slave", Flag::DOWNSTREAM, false)),
            ),
            Opt::flag(
                "make-private",
                packed!("no events in or out"),
                Make(change("--make-private", Flag::PRIVATE, false)),
            ),
            Opt::flag(
                "make-unbindable",
                packed!("private, and no bind of it"),
                Make(change("--make-unbindable", Flag::UNBINDABLE, false)),
            ),
            Opt::flag(
                "make-rshared",
                packed!("--make-shared for every mount below PATH too"),
                Make(change("--make-rshared", Flag::SHARED, true)),
            ),
            Opt::flag(
                "make-rslave",
                packed!("--make-slave for every mount below PATH too"),
                Make(change("--make-rslave", Flag::DOWNSTREAM, true)),
            ),
            Opt::flag(
                "make-rprivate",
                packed!("--make-private for every mount below PATH too"),
                Make(change("--make-rprivate", Flag::PRIVATE, true)),
            ),
            Opt::flag(
                "make-runbindable",
                packed!("--make-unbindable for every mount below PATH too"),
                Make(change("--make-runbindable", Flag::UNBINDABLE, true)),
            ),
            Opt::flag(
                "recursive",
                packed!("each --make-* for every mount below PATH too"),
                MountOption::Recursive,
            )
            .short(b'R'),
        ],
    }
};

impl Change {
    /// The recursive spelling of the same change (what `-R` makes of it).
    fn made_recursive(self) -> Change {
        MOUNT
            .options
            .iter()
            .find_map(|o| match o.action {
                MountOption::Change(c) if c.flag == self.flag && c.recursive => Some(c),
                _ => None,
            })
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
    finish(&MOUNT, change_propagation(args))
}

fn change_propagation(args: Args) -> Result<u8> {
    let mut changes: heapless::Vec<Change, MAX_CHANGES> = heapless::Vec::new();
    let mut recursive = false;
    let mut line = CommandLine::new(args, &MOUNT);
    while let Some(found) = line.next()? {
        match found.action {
            MountOption::Recursive => recursive = true,
            MountOption::Change(change) => changes
                .push(change)
                .map_err(|_| bad!("at most {} --make-* options at a time", MAX_CHANGES))?,
        }
    }
    let rest = line.rest();
    if changes.is_empty() || rest.len() != 1 {
        return Err(MOUNT
            .usage
            .error_because("box mount only changes propagation"));
    }
    let path = rest.get(0).unwrap_or(c"");
    for &change in &changes {
        let change = if recursive {
            change.made_recursive()
        } else {
            change
        };
        rustix::mount::mount_change(path, change.flags()).map_err(|errno| {
            Error::sys_named(change.option, "mount", path.to_bytes(), errno)
                .hint(change_hint(path, errno))
        })?;
    }
    Ok(0)
}

/// The likely cause of a failed propagation change.
fn change_hint(path: &core::ffi::CStr, errno: Errno) -> crate::packed::Packed {
    match errno {
        // mount(2): EINVAL for a propagation change on a path that is not
        // a mount point, or a mount of another mount namespace.
        Errno::INVAL => match mount_point::placement(path) {
            Ok(p) if p.is_mount_point == Some(true) => {
                packed!("not a mount in this mount namespace")
            }
            _ => packed!("not a mount point"),
        },
        Errno::PERM => packed!("needs CAP_SYS_ADMIN in the mount namespace's user namespace"),
        _ => packed!(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(long: &str) -> Option<Change> {
        MOUNT.options.iter().find_map(|o| match o.action {
            MountOption::Change(c) if o.form.long == long => Some(c),
            _ => None,
        })
    }

    /// Each change names itself in errors as its option is spelled.
    #[test]
    fn changes_are_named_as_their_options() {
        for option in MOUNT.options {
            if let MountOption::Change(c) = option.action {
                assert_eq!(c.option, format!("--{}", option.form.long));
            }
        }
    }

    #[test]
    fn options_and_their_recursive_forms() {
        let find = |name: &[u8]| find(core::str::from_utf8(name).unwrap());
        let private = find(b"make-private").unwrap();
        assert_eq!(private.flags(), MountPropagationFlags::PRIVATE);
        let rprivate = private.made_recursive();
        assert_eq!(rprivate.option, "--make-rprivate");
        assert_eq!(
            rprivate.flags(),
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC
        );
        assert_eq!(find(b"make-rprivate"), Some(rprivate));
        assert_eq!(rprivate.made_recursive(), rprivate);
        assert!(find(b"make-bogus").is_none());
        assert!(find(b"--make-shared").is_none());
    }

    #[test]
    fn pids_are_positive_numbers() {
        assert_eq!(parse_pid(b"42").unwrap(), 42);
        assert!(parse_pid(b"0").is_err());
        assert!(parse_pid(b"abc").is_err());
        assert!(parse_pid(b"4294967296").is_err());
    }
}
