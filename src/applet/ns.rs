//! `box ns [PID|NAME]`: the namespaces of a process as lsns shows them
//! (type, inode), each marked `shared` with the host or `isolated` from it,
//! so what a container is isolated from shows at a glance. NAME is a
//! running named container (its init); a word that is both a container's
//! name and a number (`--name 1234`) names the container.
//!
//! "The host" is PID 1 of the /proc box sees. Its links need ptrace access
//! to read (proc(5)); when they are unreadable (an init that made itself
//! non-dumpable) the kernel's thread kthreadd stands in for it: kernel
//! threads stay in the initial namespaces. Inside a PID namespace of its
//! own (a container), PID 1 is the container's init and no host process is
//! visible: there box compares with the initial namespaces' fixed inode
//! numbers, and says `unknown` for mnt and net, which have none.

use core::fmt::Write as _;

use rustix::io::Errno;

use crate::args::CommandLine;
use crate::error::{Error, Result};
use crate::options::{Command, NoOption, Usage};
use crate::out::Writer;
use crate::out::finish;
use crate::state::{Record, State};
use crate::sys::entry::Args;
use crate::sys::ns::{self, NsLink};
use crate::text::{Bytes, parse_u32};
use crate::{bad, errln};

/// The files of /proc/PID/ns shown, in /proc's order, with the type their
/// links name. config::NAMESPACES lists the types box can create; this adds
/// the `*_for_children` links, which differ from the process's own after
/// unshare(CLONE_NEWPID) or unshare(CLONE_NEWTIME): the process stays where
/// it was and only its children enter the new namespace.
const SHOWN: &[(&str, &str)] = &[
    ("cgroup", "cgroup"),
    ("ipc", "ipc"),
    ("mnt", "mnt"),
    ("net", "net"),
    ("pid", "pid"),
    ("pid_for_children", "pid"),
    ("time", "time"),
    ("time_for_children", "time"),
    ("user", "user"),
    ("uts", "uts"),
];

pub fn main(args: Args) -> u8 {
    finish(&NS, run(args).map(|()| 0))
}

pub const NS: Command<NoOption> = Command {
    usage: Usage {
        name: "box ns",
        synopsis: &["[PID|NAME]"],
        about: packed!(
            "The namespaces of PID, or of the running container NAME (a name wins\n\
                over a PID with the same digits; default: box itself): type, inode,\n\
                and whether the host's PID 1 shares it (shared) or not (isolated)."
        ),
        notes: packed!(""),
    },
    options: &[],
};

fn run(args: Args) -> Result<()> {
    let mut line = CommandLine::new(args, &NS);
    if let Some(found) = line.next()? {
        match found.action {}
    }
    let rest = line.rest();
    if rest.len() > 1 {
        return Err(NS.usage.error());
    }
    let (pid, container) = match rest.get(0).map(|w| w.to_bytes()) {
        None => (None, None),
        Some(word) => {
            let (pid, container) = process_of(word)?;
            (Some(pid), container)
        }
    };
    let host = Host::find();
    let mut rows = [(NsLink::NotInKernel, NsLink::NotInKernel); SHOWN.len()];
    for (row, &(name, kind)) in rows.iter_mut().zip(SHOWN) {
        *row = (ns::read_link(pid, name, kind), host.read_link(name, kind));
    }
    check_readable(pid, &rows)?;
    // The links were read by PID: was it still the container's init then?
    if let Some(record) = container
        && !record.alive()
    {
        return Err(bad!("the container has exited"));
    }

    match host {
        Host::KernelThreads(why) => errln!(
            "box: ns: note: HOST compares with kthreadd (PID 2), in the initial namespaces: \
             PID 1's links are unreadable ({})",
            crate::error::ErrnoText(why)
        ),
        Host::Unknown(why) => errln!(
            "box: ns: note: cannot tell what is shared with the host: /proc/1/ns: {}",
            crate::error::ErrnoText(why)
        ),
        Host::Hidden => errln!(
            "box: ns: note: in a PID namespace of its own the host's processes are not visible: \
             HOST compares with the fixed inode numbers of the host's (initial) namespaces, \
             which mnt and net do not have"
        ),
        Host::Init => {}
    }

    let mut out = Writer::new(crate::sys::fd::stdout());
    out.bytes(b"TYPE               INODE        HOST\n");
    for (&(name, _), &(link, host_link)) in SHOWN.iter().zip(&rows) {
        let _ = write!(out, "{name:<19}");
        let _ = match (link, host_link) {
            (NsLink::Inode(inode), NsLink::Inode(host_inode)) => writeln!(
                out,
                "{inode:<13}{}",
                if inode == host_inode {
                    "shared"
                } else {
                    "isolated"
                }
            ),
            (NsLink::Inode(inode), _) => writeln!(out, "{inode:<13}unknown"),
            (NsLink::NotInKernel, _) => writeln!(out, "{:<13}not in this kernel", "-"),
            (NsLink::Unreadable(e), _) => {
                writeln!(out, "{:<13}unreadable: {}", "?", crate::error::ErrnoText(e))
            }
        };
    }
    Ok(())
}

/// The PID an operand names, and the container's record when it names
/// one: a container's name first (its init), else a number is a PID.
fn process_of(word: &[u8]) -> Result<(u32, Option<Record>)> {
    let digits = word.iter().all(u8::is_ascii_digit);
    match State::open(word) {
        Ok(state) => {
            let record = state.record();
            return match record.pid.filter(|_| record.alive()) {
                Some(pid) => Ok((pid.as_raw_nonzero().get() as u32, Some(record))),
                None => Err(bad!(
                    "container {} is not running ({})",
                    Bytes(word),
                    record.status
                )),
            };
        }
        Err(e) if !digits => return Err(e),
        Err(_) => {}
    }
    let pid = parse_u32(word)
        .filter(|&pid| pid > 0)
        .ok_or_else(|| bad!("{}: not a PID (a positive number)", Bytes(word)))?;
    let dir = crate::text::CPath::proc(Some(pid), b"");
    match rustix::fs::stat(dir.as_cstr()) {
        Ok(_) => Ok((pid, None)),
        Err(Errno::NOENT) => Err(bad!("no process with PID {}", pid)),
        Err(e) => Err(Error::sys(
            packed!("find the process"),
            "stat",
            dir.as_bytes(),
            e,
        )),
    }
}

/// Fail with one line rather than print a table of question marks: when
/// the process has exited (its links exist but no longer resolve, ENOENT;
/// a zombie keeps only pid and user) or no link could be read at all.
fn check_readable(pid: Option<u32>, rows: &[(NsLink, NsLink)]) -> Result<()> {
    let exited = rows
        .iter()
        .any(|(link, _)| *link == NsLink::Unreadable(Errno::NOENT));
    let readable = rows
        .iter()
        .any(|(link, _)| matches!(link, NsLink::Inode(_)));
    let first_error = rows.iter().find_map(|(link, _)| match link {
        NsLink::Unreadable(e) => Some(*e),
        _ => None,
    });
    match (pid, first_error) {
        (Some(pid), _) if exited => Err(bad!("process {} has exited", pid)),
        _ if readable => Ok(()),
        // Every link missing: the process went away after it was found.
        (Some(pid), None) => Err(bad!("process {} has exited", pid)),
        (_, Some(e)) => {
            let path = ns::link_path(pid, SHOWN[0].0);
            Err(Error::sys(
                packed!("read the namespaces"),
                "readlink",
                path.as_bytes(),
                e,
            )
            .hint(packed!(
                "reading another process's namespaces needs ptrace access to it"
            )))
        }
        (None, None) => Err(bad!("this kernel shows no namespaces in /proc/self/ns")),
    }
}

/// Whose namespaces count as the host's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Host {
    /// PID 1.
    Init,
    /// None visible: box is in a PID namespace other than the initial one,
    /// where PID 1 is the container's init (or box itself). The initial
    /// namespaces are known by their fixed inode numbers instead.
    Hidden,
    /// kthreadd, because PID 1's links could not be read (the errno).
    KernelThreads(Errno),
    /// Neither could be read.
    Unknown(Errno),
}

impl Host {
    fn find() -> Host {
        let own_pid_namespace = ns::read_link(None, "pid", "pid");
        if matches!(own_pid_namespace, NsLink::Inode(inode) if Some(inode) != ns::initial_inode("pid"))
        {
            return Host::Hidden;
        }
        let why = match ns::read_link(Some(1), "mnt", "mnt") {
            NsLink::Inode(_) | NsLink::NotInKernel => return Host::Init,
            NsLink::Unreadable(e) => e,
        };
        if kthreadd_is_pid_2() && matches!(ns::read_link(Some(2), "mnt", "mnt"), NsLink::Inode(_)) {
            Host::KernelThreads(why)
        } else {
            Host::Unknown(why)
        }
    }

    fn read_link(self, name: &str, kind: &str) -> NsLink {
        match self {
            Host::Init => ns::read_link(Some(1), name, kind),
            Host::KernelThreads(_) => ns::read_link(Some(2), name, kind),
            Host::Hidden => match ns::initial_inode(kind) {
                Some(inode) => NsLink::Inode(inode),
                None => NsLink::NotInKernel,
            },
            Host::Unknown(e) => NsLink::Unreadable(e),
        }
    }
}

/// Whether PID 2 is the kernel's kthreadd (a process could take the name,
/// but not the parent PID 0 that only the kernel's own tasks have). In a
/// PID namespace PID 2 is an ordinary process.
fn kthreadd_is_pid_2() -> bool {
    let Ok(fd) = rustix::fs::open(
        c"/proc/2/stat",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) else {
        return false;
    };
    let mut buf = [0u8; 128];
    let Ok(n) = rustix::io::read(&fd, &mut buf) else {
        return false;
    };
    // /proc/PID/stat begins "PID (COMM) STATE PPID ".
    let text = &buf[..n];
    let Some(after) = text.strip_prefix(b"2 (kthreadd) ") else {
        return false;
    };
    after.get(1..4) == Some(b" 0 ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_unknown_names() {
        let Err(e) = process_of(b"no-such-container-here") else {
            panic!("found")
        };
        let mut t = crate::text::Text::<128>::new();
        write!(t, "{e}").unwrap();
        assert_eq!(t.as_bytes(), b"no container named no-such-container-here");
        assert!(process_of(b"0").is_err_and(|_| true));
        assert!(process_of(b"4294967295").is_err_and(|_| true));
        let me = rustix::process::getpid().as_raw_nonzero().get() as u32;
        let mut digits = crate::text::Text::<16>::new();
        write!(digits, "{me}").unwrap();
        assert_eq!(process_of(digits.as_bytes()).unwrap().0, me);
    }

    #[test]
    fn the_table_covers_every_type_once() {
        for (i, (name, kind)) in SHOWN.iter().enumerate() {
            assert!(name.starts_with(kind));
            assert!(SHOWN[i + 1..].iter().all(|(other, _)| other != name));
        }
        assert_eq!(SHOWN.len(), 10);
    }
}
