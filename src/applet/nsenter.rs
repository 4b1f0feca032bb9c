//! `nsenter`: run a program in the namespaces of another process, with
//! util-linux's flags.
//!
//! ```text
//! nsenter [-t PID[:INODE]] [-a] [-m -u -i -n -p -U -C -T] [--uts=FILE …]
//!         [-r[DIR] | --root[=DIR]] [-w[DIR] | --wd[=DIR] | -W DIR] [-F]
//!         [-S UID] [-G GID]
//!         [--preserve-credentials] [--keep-caps] [--user-parent] [-e] [-c]
//!         [--] [CMD [ARG…]]
//! ```
//!
//! The steps: a pidfd of the target first, held to the end, so a PID that
//! is recycled meanwhile is noticed (util-linux#4162); the root and working
//! directory opened (the target's /proc entries are out of reach from
//! inside its namespaces); then the join. On Linux 5.8+ the namespaces of
//! the target are joined all at once with one setns(pidfd, flags), which
//! either joins them all or none. Otherwise (an older kernel, a FILE given,
//! or the kernel refusing the atomic join) each namespace file is opened
//! first, checked for its type, and joined one by one: first every type
//! but user with our own privileges, then the user namespace, then what
//! needed it (util-linux's order: root entering a container joins the rest
//! before giving up its host capabilities, an unprivileged user gets the
//! capabilities from the user namespace first). Then chroot and chdir, the
//! credentials (uid and gid 0 after entering a user namespace; `follow`
//! reads the target's owner only now, so that it is seen as the user
//! namespace entered sees it), and exec.
//!
//! A PID namespace holds only children created after the join, so with
//! `-p` nsenter forks and waits, unless `-F`; every other type, time
//! included, applies to nsenter itself at once. The waiting parent passes a
//! stop of the command on to itself (job control works) and exits with the
//! command's status, or dies by the signal that killed it.
//!
//! **Exit status: util-linux's codes, not box's 125** (as `unshare`): CMD's
//! own; 1 when nsenter fails before exec (one line on stderr, also for a
//! bad option); 126 when CMD cannot be executed, 127 when not found.
//!
//! Options are util-linux's, read as its getopt_long reads them: a FILE
//! or DIR attached to either form (`--uts=FILE`, `-uFILE`, `-r/srv`; so
//! `-mu` is `--mount=u`), an unambiguous beginning of a long option for
//! the option (`--targ`).
//!
//! `-a` joins every namespace of the target but our own user namespace,
//! as util-linux: ours too, so a mount namespace entered again moves the
//! working directory to its root.
//!
//! Differences from util-linux, on purpose: `-a` skips types this kernel
//! lacks (util-linux#1502). After entering a user namespace whose setgroups is
//! "deny" (one made by `unshare -r`), a caller that cannot drop its
//! supplementary groups keeps them and goes on, where util-linux fails
//! with "setgroups failed" (util-linux#3553). `-W DIR` takes its value as
//! 2.38 does (also as the next word; util-linux ≥ 2.39 attached only).
//! `-Z` is refused: box has no SELinux. `-c` joins the target's cgroup
//! before the namespaces (util-linux after them), so that both groups are
//! still within our cgroup namespace. `-N FD` (util-linux 2.41) joins the
//! socket's network namespace through the namespace file the kernel gives
//! for it (ioctl SIOCGSKNS), named in messages by its /proc/self/fd link;
//! with `--net` it is refused. Not implemented: `--NAME=:NSID` (util-linux
//! 2.42).

use crate::packed::Packed;
use linux_raw_sys::general as k;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Signal, WaitIdOptions};
use rustix::thread::{Gid, Uid};

use super::util_linux::{self, bad_value, exec_command, fail, index, index_of};
use crate::args::CommandLine;
use crate::config::{NAMESPACES, Namespace, missing_namespace};
use crate::error::{Context, Error, Result};
use crate::options::{Command, Given, Opt, Usage};
use crate::sys::entry::Args;
use crate::sys::exec::{CStrArray, Envp};
use crate::sys::fs::{file_holds, open_dir};
use crate::sys::ns::{self, NsLink};
use crate::sys::{clone, exec, process, signal};
use crate::text::{Bytes, CPath, Text};
use crate::{bad, outln};

const COUNT: usize = NAMESPACES.len();

/// Where a namespace to join comes from, and where `-r`, `-w` take their
/// directory: a path given (`--NAME=FILE`, `--root=DIR`), or empty for the
/// target's own (/proc/PID/ns/NAME, /proc/PID/root): an empty value is
/// refused, so it stands for none given. Held in place, never moved: a
/// path is large. With `--user-parent`, the user namespace's stands for
/// the parent of the target's user namespace, or of the one FILE names.
type Source = CPath;

const USER: usize = index(k::CLONE_NEWUSER);
const NET: usize = index(k::CLONE_NEWNET);
const PID: usize = index(k::CLONE_NEWPID);

/// `-S`, `-G`: a number, or `follow` for the target's own.
#[derive(Clone, Copy)]
enum Id {
    Number(u32),
    Follow,
}

struct Options {
    target: Option<u32>,
    /// `-t PID:INODE`: the inode the target's pidfd must have.
    target_inode: Option<u64>,
    /// Indexed like [`NAMESPACES`].
    namespaces: [Option<Source>; COUNT],
    all: bool,
    root: Option<Source>,
    wd: Option<Source>,
    fork: bool,
    uid: Option<Id>,
    gid: Option<Id>,
    preserve_credentials: bool,
    /// `-W DIR`: the working directory, looked up after the join.
    wdns: Option<CPath>,
    keep_caps: bool,
    user_parent: bool,
    /// `-e`: the command gets the target's environment.
    env: bool,
    /// `-c`: join the target's cgroup (v2).
    join_cgroup: bool,
    /// `-N FD`: a socket whose network namespace to join.
    net_socket: Option<i32>,
}

pub fn main(args: Args) -> u8 {
    util_linux::finish(&NSENTER, run(args))
}

/// What nsenter's options do.
#[derive(Clone, Copy, Debug)]
pub enum NsenterOption {
    /// A namespace of this type (its index in [`NAMESPACES`]) to join.
    Namespace(u8),
    Target,
    All,
    Root,
    Wd,
    NoFork,
    Setuid,
    Setgid,
    PreserveCredentials,
    WdNs,
    FollowContext,
    KeepCaps,
    UserParent,
    Env,
    JoinCgroup,
    NetSocket,
    Version,
}

const fn join_namespace(short: u8, name: &'static str, help: Packed) -> Opt<NsenterOption> {
    // As util-linux's getopt string (`m::`): the file attached to either
    // form, `--net=FILE` or `-nFILE`.
    Opt::attached(name, "FILE", help, NsenterOption::Namespace(index_of(name))).short(short)
}

pub const NSENTER: Command<NsenterOption> = {
    use NsenterOption as N;
    Command {
        usage: Usage {
            name: "nsenter",
            synopsis: &["[OPTIONS] [--] [CMD [ARG…]]"],
            about: packed!(
                "Runs CMD ($SHELL, else /bin/sh) in the namespaces of process PID, or of files."
            ),
            notes: packed!(
                "A FILE is /proc/PID/ns/TYPE or a bind mount of one, attached as util-linux\n\
                    reads it: --net=FILE or -nFILE (so -mu is --mount=u; write -m -u).\n\
                    \n\
                    Exit status (util-linux's): CMD's own; a CMD killed by a signal kills nsenter\n\
                    with the same signal; 1 if nsenter failed, 126 if CMD cannot be executed,\n\
                    127 if it was not found."
            ),
        },
        options: &[
            Opt::value(
                "target",
                "PID[:INODE]",
                packed!("the process whose namespaces, root and cwd to use"),
                N::Target,
            )
            .short(b't'),
            Opt::flag(
                "all",
                packed!("every namespace of PID but our user namespace"),
                N::All,
            )
            .short(b'a'),
            join_namespace(
                b'm',
                "mount",
                packed!("its mount namespace (or the one FILE names)"),
            ),
            join_namespace(b'u', "uts", packed!("its UTS namespace")),
            join_namespace(b'i', "ipc", packed!("its IPC namespace")),
            join_namespace(b'n', "net", packed!("its network namespace")),
            join_namespace(
                b'p',
                "pid",
                packed!("its PID namespace (CMD runs in a child: see -F)"),
            ),
            join_namespace(
                b'U',
                "user",
                packed!("its user namespace (then uid and gid 0)"),
            ),
            join_namespace(b'C', "cgroup", packed!("its cgroup namespace")),
            join_namespace(b'T', "time", packed!("its time namespace")),
            Opt::attached(
                "root",
                "DIR",
                packed!("chroot into its root directory (or DIR)"),
                N::Root,
            )
            .short(b'r'),
            Opt::attached(
                "wd",
                "DIR",
                packed!("change to its working directory (or DIR)"),
                N::Wd,
            )
            .short(b'w'),
            Opt::flag(
                "no-fork",
                packed!("do not fork after entering a PID namespace"),
                N::NoFork,
            )
            .short(b'F'),
            Opt::value(
                "setuid",
                "UID",
                packed!("uid to run CMD as (follow: the target's)"),
                N::Setuid,
            )
            .short(b'S'),
            Opt::value(
                "setgid",
                "GID",
                packed!("gid to run CMD as (follow: the target's)"),
                N::Setgid,
            )
            .short(b'G'),
            Opt::flag(
                "preserve-credentials",
                packed!("keep our ids after entering a user namespace"),
                N::PreserveCredentials,
            ),
            Opt::value(
                "wdns",
                "DIR",
                packed!("change to DIR, looked up in the namespaces entered"),
                N::WdNs,
            )
            .short(b'W'),
            Opt::flag(
                "follow-context",
                packed!("refused: box has no SELinux"),
                N::FollowContext,
            )
            .short(b'Z'),
            Opt::flag(
                "keep-caps",
                packed!("CMD keeps its capabilities in the user ns"),
                N::KeepCaps,
            ),
            Opt::flag(
                "user-parent",
                packed!("the parent of its (or FILE's) user ns instead"),
                N::UserParent,
            ),
            Opt::flag(
                "env",
                packed!("CMD gets its environment instead of ours"),
                N::Env,
            )
            .short(b'e'),
            Opt::flag(
                "join-cgroup",
                packed!("CMD joins its cgroup (cgroup v2)"),
                N::JoinCgroup,
            )
            .short(b'c'),
            Opt::value(
                "net-socket",
                "FD",
                packed!("enter the network namespace of socket FD"),
                N::NetSocket,
            )
            .short(b'N'),
            Opt::flag("version", packed!("print the version and exit"), N::Version).short(b'V'),
        ],
    }
};

fn run(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &NSENTER);
    let Some(mut o) = parse(&mut line)? else {
        return Ok(0);
    };
    let command = line.rest();

    // The target, named by a pidfd from here on.
    let pidfd = match o.target {
        Some(pid) => open_target(pid, o.target_inode)?,
        None => None,
    };
    let pidfd = pidfd.as_ref().map(|fd| fd.as_fd());
    choose(&mut o)?;
    // -N FD: the kernel hands out the socket's network namespace as a
    // namespace file (ioctl SIOCGSKNS), joined as --net=FILE would be,
    // through its /proc/self/fd link; held open until the join.
    let _socket_namespace = match o.net_socket {
        Some(socket) => {
            let fd = ns::of_socket(socket)
                .at(packed!("find the socket's network namespace (--net-socket)"), "ioctl(SIOCGSKNS)", number(socket as u32).as_bytes())
                .map_err(|e| match e.errno() {
                    Some(Errno::BADF) => e.hint(packed!("FD must be a descriptor nsenter inherits, such as 3 in `nsenter -N 3 … 3<>/dev/tcp/…`")),
                    Some(Errno::NOTTY | Errno::INVAL) => e.hint(packed!("FD is not a socket")),
                    _ => e,
                })?;
            let mut path = CPath::proc(None, b"/fd/");
            path.push_u64(rustix::fd::AsRawFd::as_raw_fd(&fd) as u64);
            o.namespaces[NET] = Some(path);
            Some(fd)
        }
        None => None,
    };

    // Everything read from /proc/PID before joining: its namespace files
    // and directories are out of reach from inside them.
    let root = open_place(&o.root, o.target, "/root")?;
    let mut wd = open_place(&o.wd, o.target, "/cwd")?;
    if root.is_some() && wd.is_none() && o.wdns.is_none() {
        // A new root without -w keeps the working directory, as util-linux.
        wd = Some(open_dir(c".").at(packed!("remember the working directory"), "open", b".")?);
    }
    // `follow`: /proc/PID, whose owner is read after the join (below).
    let follow = matches!(o.uid, Some(Id::Follow)) || matches!(o.gid, Some(Id::Follow));
    let owner = match (follow, o.target) {
        (false, _) => None,
        (true, None) => return Err(bad!("follow: whose ids? add --target PID")),
        (true, Some(pid)) => {
            let dir = CPath::proc(Some(pid), b"/");
            Some(open_dir(dir.as_cstr()).at(
                packed!("find the target's ids"),
                "open",
                dir.as_bytes(),
            )?)
        }
    };

    // The credentials to set: 0 inside a user namespace just entered, as
    // util-linux (the caller is unmapped there otherwise).
    let user_joined = o.namespaces[USER].is_some();
    let (uid, gid) = if user_joined && !o.preserve_credentials {
        (o.uid.or(Some(Id::Number(0))), o.gid.or(Some(Id::Number(0))))
    } else {
        (o.uid, o.gid)
    };
    // Supplementary groups go with a new gid. Tried before joining too: in
    // a user namespace whose setgroups is "deny" only that call can work.
    let groups_dropped_before = gid.is_some() && rustix::thread::set_thread_groups(&[]).is_ok();

    // -e: the target's environment, opened while its /proc entry is
    // ours to open, read at exec.
    let environ = match (o.env, o.target) {
        (false, _) => None,
        (true, None) => return Err(bad!("--env: whose environment? add --target PID")),
        (true, Some(pid)) => Some(open_environ(pid)?),
    };
    // -c: into the target's cgroup before the join, while both groups are
    // within our cgroup namespace (inside the target's, ours is not).
    if o.join_cgroup {
        let Some(pid) = o.target else {
            return Err(bad!("--join-cgroup: whose cgroup? add --target PID"));
        };
        join_cgroup(pid)?;
    }

    join(&o, pidfd)?;

    if let Some(root) = &root {
        rustix::process::fchdir(root).at(packed!("change the root"), "fchdir", b"")?;
        rustix::process::chroot(c".").at(packed!("change the root"), "chroot", b".")?;
    }
    if let Some(wd) = &wd {
        rustix::process::fchdir(wd).at(packed!("change the working directory"), "fchdir", b"")?;
    }
    if let Some(dir) = &o.wdns {
        // -W: looked up now, in the namespaces and the root entered.
        rustix::process::chdir(dir.as_cstr()).at(
            packed!("change the working directory (-W)"),
            "chdir",
            dir.as_bytes(),
        )?;
    }
    drop((root, wd));

    // `follow`: the owner of /proc/PID as the user namespace we are in now
    // sees it: inside one just entered, the ids it maps the owner to (read
    // before the join, they would be the host's, unmapped here).
    let owner = match &owner {
        Some(dir) => Some(rustix::fs::fstat(dir).at(
            packed!("read the target's ids"),
            "fstat",
            b"/proc/PID",
        )?),
        None => None,
    };
    let resolve = |id: Option<Id>, of: fn(&rustix::fs::Stat) -> u32| match (id, &owner) {
        (Some(Id::Number(n)), _) => Some(n),
        (Some(Id::Follow), Some(st)) => Some(of(st)),
        _ => None,
    };
    let uid = resolve(uid, |st| st.st_uid);
    let gid = resolve(gid, |st| st.st_gid);

    if let Some(gid) = gid {
        if let Err(e) = rustix::thread::set_thread_groups(&[]) {
            // util-linux fails here (util-linux#3553) even with no group to
            // drop, or where the namespace's setgroups says "deny": a user
            // entering its own `unshare -r` namespace. box goes on then,
            // keeping the groups it had (the kernel's rule, not a gain).
            if !groups_dropped_before && supplementary_groups_remain() && !setgroups_denied() {
                return Err(Error::sys(
                    packed!("drop the supplementary groups"),
                    "setgroups",
                    b"",
                    e,
                )
                .hint(packed!(
                    "needs CAP_SETGID; --preserve-credentials keeps our ids and groups"
                )));
            }
        }
        rustix::thread::set_thread_res_gid(
            Gid::from_raw(gid),
            Gid::from_raw(gid),
            Gid::from_raw(gid),
        )
        .at(
            packed!("set the identity"),
            "setresgid",
            number(gid).as_bytes(),
        )
        .map_err(id_hint)?;
    }
    if let Some(uid) = uid {
        rustix::thread::set_thread_res_uid(
            Uid::from_raw(uid),
            Uid::from_raw(uid),
            Uid::from_raw(uid),
        )
        .at(
            packed!("set the identity"),
            "setresuid",
            number(uid).as_bytes(),
        )
        .map_err(id_hint)?;
    }
    // --keep-caps: the capabilities we have in the user namespace entered
    // survive the exec (only with one, as util-linux).
    if o.keep_caps && user_joined {
        super::util_linux::keep_caps()?;
    }

    let fork = o.namespaces[PID].is_some() && o.fork;
    match environ {
        // Its buffer only for -e: on the stack, and only then.
        Some(fd) => {
            let mut buf = [0u8; ENVIRON_MAX];
            let list = read_environ(o.target.unwrap_or(0), fd, &mut buf)?;
            start(command, list.envp(), fork)
        }
        None => start(command, args.envp(), fork),
    }
}

/// Run the command with environment `env`: as a child with `fork`, else
/// in this process.
fn start(command: Args, env: Envp<'_>, fork: bool) -> Result<u8> {
    if fork {
        return run_forked(command, env);
    }
    Err(exec_command(command, env))
}

/// `-e`: open /proc/PID/environ.
fn open_environ(pid: u32) -> Result<OwnedFd> {
    let path = CPath::proc(Some(pid), b"/environ");
    rustix::fs::open(
        path.as_cstr(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(
        packed!("open the target's environment (--env)"),
        "open",
        path.as_bytes(),
    )
    .map_err(ptrace_hint)
}

/// Largest environment `-e` takes from the target, and most variables.
const ENVIRON_MAX: usize = 128 * 1024;
const ENVIRON_COUNT: usize = 1024;

/// `-e`: /proc/PID/environ, its `KEY=VALUE` strings NUL-separated, read
/// into `buf` and listed as an environment.
fn read_environ(pid: u32, fd: OwnedFd, buf: &mut [u8]) -> Result<CStrArray<'_, ENVIRON_COUNT>> {
    let path = CPath::proc(Some(pid), b"/environ");
    let n = crate::sys::fs::read_fd_into(fd.as_fd(), buf).at(
        packed!("read the target's environment (--env)"),
        "read",
        path.as_bytes(),
    )?;
    if n == buf.len() {
        return Err(bad!(
            "--env: the environment of PID {} is over {} KiB, more than box takes",
            pid,
            ENVIRON_MAX / 1024
        ));
    }
    let mut list = CStrArray::new();
    for entry in buf[..n].split_inclusive(|&b| b == 0) {
        // A process may have overwritten its last string's NUL: skip it.
        let Ok(entry) = core::ffi::CStr::from_bytes_with_nul(entry) else {
            continue;
        };
        if !entry.is_empty() && list.push(entry).is_err() {
            return Err(bad!(
                "--env: PID {} has over {} variables, more than box takes",
                pid,
                ENVIRON_COUNT - 1
            ));
        }
    }
    Ok(list)
}

/// `-c`: move ourselves into the cgroup v2 group of process `pid`, as its
/// /proc/PID/cgroup names it (line `0::PATH`).
fn join_cgroup(pid: u32) -> Result<()> {
    let step = packed!("join the target's cgroup (--join-cgroup)");
    let path = CPath::proc(Some(pid), b"/cgroup");
    let mut buf = [0u8; 4096];
    let n =
        crate::sys::fs::read_into(path.as_cstr(), &mut buf).at(step, "read", path.as_bytes())?;
    let procs = buf[..n]
        .split(|&b| b == b'\n')
        .find(|line| line.starts_with(b"0::"))
        .and_then(crate::cgroup::procs_file_for)
        .ok_or_else(|| {
            bad!("--join-cgroup: PID {} is in no cgroup v2 group (util-linux and box join only cgroup v2)", pid)
        })?;
    crate::sys::fs::write_control(procs.as_cstr(), b"0")
        .at(step, "write", procs.as_bytes())
        .map_err(|e| match e.errno() {
            Some(Errno::ACCESS | Errno::PERM) => e.hint(packed!("moving a process between groups needs write access to both and to their common ancestor's cgroup.procs: run as root")),
            Some(Errno::OPNOTSUPP | Errno::BUSY) => e.hint(packed!("that group has controllers enabled for its children (no internal processes in cgroup v2)")),
            _ => e,
        })
}

/// The options, or `None` when one was answered (`--version`).
fn parse(line: &mut CommandLine<NsenterOption>) -> Result<Option<Options>> {
    use NsenterOption as N;
    let mut o = Options {
        target: None,
        target_inode: None,
        namespaces: [None; COUNT],
        all: false,
        root: None,
        wd: None,
        fork: true,
        uid: None,
        gid: None,
        preserve_credentials: false,
        wdns: None,
        keep_caps: false,
        user_parent: false,
        env: false,
        join_cgroup: false,
        net_socket: None,
    };
    while let Some(found) = line.next()? {
        let given = found.given;
        match found.action {
            N::Namespace(i) => {
                let i = usize::from(i);
                // util-linux 2.42 reads `=:NSID` as a namespace id.
                if let Some(file) = found.value
                    && file.starts_with(b":")
                {
                    return Err(bad!(
                        "{}={}: namespace ids (util-linux 2.42, Linux 6.19) are not supported: name the namespace's file (./{} for a file named so)",
                        given,
                        Bytes(file),
                        Bytes(file)
                    ));
                }
                place(&mut o.namespaces[i], &given, found.value)?;
            }
            N::Version => {
                outln!("nsenter (box {})", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            N::Target => {
                // PID, or PID:INODE (util-linux 2.41): the inode of the
                // process's pidfd, which no later process gets.
                let value = found.text();
                let mut words = value.splitn(2, |&b| b == b':');
                let pid = words.next().and_then(crate::text::parse_u32);
                o.target = Some(
                    pid.filter(|&pid| pid > 0 && pid <= i32::MAX as u32)
                        .ok_or_else(|| bad_value(&given, " ", value, "not a PID"))?,
                );
                if let Some(inode) = words.next() {
                    let inode = crate::text::parse_u64(inode).filter(|&n| n > 0);
                    o.target_inode =
                        Some(inode.ok_or_else(|| {
                            bad_value(&given, " ", value, "use PID or PID:INODE")
                        })?);
                }
            }
            N::All => o.all = true,
            N::Root | N::Wd => {
                let slot = match found.action {
                    N::Root => &mut o.root,
                    _ => &mut o.wd,
                };
                place(slot, &given, found.value)?;
            }
            N::NoFork => o.fork = false,
            N::Setuid | N::Setgid => {
                let slot = match found.action {
                    N::Setuid => &mut o.uid,
                    _ => &mut o.gid,
                };
                *slot = Some(id(&given, found.text())?);
            }
            N::PreserveCredentials => o.preserve_credentials = true,
            N::WdNs => util_linux::set_path(&mut o.wdns, &given, found.text(), true)?,
            N::KeepCaps => o.keep_caps = true,
            N::UserParent => o.user_parent = true,
            N::Env => o.env = true,
            N::JoinCgroup => o.join_cgroup = true,
            N::NetSocket => {
                let value = found.text();
                let fd = crate::text::parse_u32(value).and_then(|n| i32::try_from(n).ok());
                o.net_socket = Some(
                    fd.ok_or_else(|| bad_value(&given, " ", value, "not a descriptor number"))?,
                );
            }
            // util-linux without SELinux goes on; box says it cannot.
            N::FollowContext => return Err(bad!("{}: SELinux is not supported", given)),
        }
    }
    if o.wd.is_some() && o.wdns.is_some() {
        return Err(bad!("--wd and --wdns: give one or the other"));
    }
    if o.net_socket.is_some() && o.namespaces[NET].is_some() {
        return Err(bad!("--net-socket and --net: give one or the other"));
    }
    Ok(Some(o))
}

/// A FILE or DIR given, or without one the target's (empty).
#[inline(never)]
fn place(slot: &mut Option<Source>, given: &Given, value: Option<&[u8]>) -> Result<()> {
    match value {
        Some(path) => util_linux::set_path(slot, given, path, true),
        None => {
            *slot = Some(CPath::new());
            Ok(())
        }
    }
}

fn id(given: &Given, value: &[u8]) -> Result<Id> {
    if value == b"follow" {
        return Ok(Id::Follow);
    }
    crate::text::parse_u32(value)
        .filter(|&n| n != u32::MAX)
        .map(Id::Number)
        .ok_or_else(|| {
            bad_value(
                given,
                " ",
                value,
                "use a number or follow (names are not looked up)",
            )
        })
}

fn number(n: u32) -> Text<12> {
    let mut digits = [0u8; 20];
    let mut t = Text::new();
    t.push(crate::text::decimal(u64::from(n), &mut digits));
    t
}

/// Whether /proc/self/status lists any supplementary group.
fn supplementary_groups_remain() -> bool {
    let mut buf = [0u8; 4096];
    let Ok(len) = crate::sys::fs::read_into(c"/proc/self/status", &mut buf) else {
        return true;
    };
    let text = &buf[..len];
    let Some(start) = text.windows(8).position(|w| w == b"\nGroups:") else {
        return true;
    };
    let line = &text[start + 8..];
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    !line.trim_ascii().is_empty()
}

/// Whether our user namespace forbids setgroups (`deny` in
/// /proc/self/setgroups, user_namespaces(7)).
fn setgroups_denied() -> bool {
    file_holds(c"/proc/self/setgroups", b"deny")
}

/// pidfd_open the target. `None` on kernels before 5.3, or for a thread
/// ID (pidfds name processes): then /proc/PID alone names it.
/// A pidfd of the target, held to the end; with `PID:INODE`, checked to
/// be that inode of pidfs (Linux 6.9+), so that a PID recycled since the
/// caller read it is refused. `None` on kernels without pidfds.
fn open_target(pid: u32, inode: Option<u64>) -> Result<Option<OwnedFd>> {
    let fd = match ns::open_process(pid) {
        Ok(fd) if ns::has_exited(fd.as_fd()) => return Err(exited(pid)),
        Ok(fd) => fd,
        Err(Errno::SRCH) => return Err(no_such_process(pid)),
        Err(Errno::NOSYS | Errno::INVAL) if inode.is_none() => {
            return match no_proc_entry(pid) {
                true => Err(no_such_process(pid)),
                false => Ok(None),
            };
        }
        Err(e) => {
            return Err(Error::sys(
                packed!("find the target"),
                "pidfd_open",
                number(pid).as_bytes(),
                e,
            ));
        }
    };
    if let Some(inode) = inode {
        let on_pidfs = rustix::fs::fstatfs(&fd)
            .is_ok_and(|fs| fs.f_type as u64 == u64::from(linux_raw_sys::general::PID_FS_MAGIC));
        if !on_pidfs {
            return Err(bad!(
                "--target {}:{}: a pidfd's inode names a process from Linux 6.9 (pidfs); give the PID alone",
                pid,
                inode
            ));
        }
        let st = rustix::fs::fstat(&fd).at(packed!("find the target"), "fstat", b"pidfd")?;
        if st.st_ino != inode {
            return Err(bad!(
                "--target {}:{}: PID {} is another process now (its pidfd's inode is {})",
                pid,
                inode,
                pid,
                st.st_ino
            ));
        }
    }
    Ok(Some(fd))
}

/// Whether /proc/PID is missing: no process has that PID.
fn no_proc_entry(pid: u32) -> bool {
    let dir = CPath::proc(Some(pid), b"/");
    rustix::fs::access(dir.as_cstr(), rustix::fs::Access::EXISTS) == Err(Errno::NOENT)
}

fn no_such_process(pid: u32) -> Error {
    bad!("--target {}: no such process", pid)
}

fn exited(pid: u32) -> Error {
    bad!(
        "--target {}: the process has exited (a zombie until its parent reaps it)",
        pid
    )
}

/// Which namespaces to join, from where: the options, and for `-a` every
/// type the target has in which it differs from us.
fn choose(o: &mut Options) -> Result<()> {
    for (ns, slot) in NAMESPACES.iter().zip(&mut o.namespaces) {
        // -a adds the types not named; a type named without FILE is the
        // target's.
        let adding = o.all && slot.is_none();
        if !adding && !slot.as_ref().is_some_and(CPath::is_empty) {
            continue;
        }
        let Some(pid) = o.target else {
            return Err(match adding {
                true => bad!("--all: whose namespaces? add --target PID"),
                false => bad!(
                    "--{}: whose namespace? add --target PID, or name a file: --{}=FILE",
                    ns.name,
                    ns.name
                ),
            });
        };
        let user = ns.flag == k::CLONE_NEWUSER;
        let link = match adding || user {
            true => ns::read_link(Some(pid), ns.proc_name, ns.proc_name),
            false => NsLink::NotInKernel,
        };
        // Our own user namespace, which the kernel does not let us enter
        // again: -a skips it; every other is entered, ours included, as
        // util-linux (a mount namespace entered again puts the working
        // directory at its root). -U is refused before anything.
        if user && matches!(link, NsLink::Inode(theirs) if own_inode(ns) == Some(theirs)) {
            if adding {
                continue;
            }
            return Err(bad!(
                "--user: PID {} is in our own user namespace, which the kernel does not let a process enter again; drop -U",
                pid
            ));
        }
        // -a: a type not in this kernel is skipped (util-linux#1502); one
        // unreadable is entered, and opening it will say why.
        if adding && !matches!(link, NsLink::NotInKernel) {
            *slot = Some(CPath::new());
        }
    }
    // --user-parent: the parent of FILE's user namespace, else of the
    // target's.
    let user = &mut o.namespaces[USER];
    if o.user_parent && user.as_ref().is_none_or(|file| file.is_empty()) {
        if o.target.is_none() {
            return Err(bad!(
                "--user-parent: the parent of whose user namespace? add --target PID or --user=FILE"
            ));
        }
        *user = Some(CPath::new());
    }
    Ok(())
}

fn own_inode(ns: &Namespace) -> Option<u64> {
    match ns::read_link(None, ns.proc_name, ns.proc_name) {
        NsLink::Inode(inode) => Some(inode),
        _ => None,
    }
}

/// Open `-r`/`-w`'s directory: the target's /proc/PID/root or cwd, or DIR.
fn open_place(place: &Option<Source>, target: Option<u32>, link: &str) -> Result<Option<OwnedFd>> {
    let path = match place {
        None => return Ok(None),
        Some(path) if !path.is_empty() => *path,
        Some(_) => match target {
            Some(pid) => CPath::proc(Some(pid), link.as_bytes()),
            None => {
                let option = if link == "/root" { "--root" } else { "--wd" };
                return Err(bad!(
                    "{}: whose directory? add --target PID, or name one: {}=DIR",
                    option,
                    option
                ));
            }
        },
    };
    let step = if link == "/root" {
        packed!("open the new root")
    } else {
        packed!("open the new working directory")
    };
    open_dir(path.as_cstr())
        .at(step, "open", path.as_bytes())
        .map_err(ptrace_hint)
        .map(Some)
}

const PTRACE_HINT: crate::packed::Packed = packed!(
    "reading another process's /proc entries needs ptrace access: run as root, or as its user while it is dumpable"
);

/// [`PTRACE_HINT`] for a refused open of the target's /proc entries.
fn ptrace_hint(e: Error) -> Error {
    match e.errno() {
        Some(Errno::ACCESS | Errno::PERM) => e.hint(PTRACE_HINT),
        _ => e,
    }
}

/// Whether the target, held by its pidfd, was still the process named
/// by PID: an error once it has exited.
fn still_there(pidfd: Option<BorrowedFd<'_>>, target: Option<u32>) -> Result<()> {
    match (pidfd, target) {
        (Some(fd), Some(pid)) if ns::has_exited(fd) => Err(exited(pid)),
        _ => Ok(()),
    }
}

/// `-S follow`, `-G follow`: the owner of /proc/PID, which is the target's
/// effective uid and gid.
fn id_hint(e: Error) -> Error {
    match e.errno() {
        Some(Errno::INVAL) => e.hint(packed!("that id has no mapping in the user namespace")),
        Some(Errno::PERM) => e.hint(packed!("changing ids needs CAP_SETUID and CAP_SETGID")),
        _ => e,
    }
}

/// Join the chosen namespaces: all the target's at once through its pidfd
/// where the kernel can, else file by file.
fn join(o: &Options, pidfd: Option<BorrowedFd<'_>>) -> Result<()> {
    let target = o.target;
    let mut from_target = 0;
    let mut any_file = false;
    for (i, (ns, source)) in NAMESPACES.iter().zip(&o.namespaces).enumerate() {
        match source {
            Some(path) if path.is_empty() && !(i == USER && o.user_parent) => {
                from_target |= ns.flag
            }
            Some(_) => any_file = true,
            None => {}
        }
    }
    if from_target == 0 && !any_file {
        // Nothing to join; still, -r or -w read the target: was it the same
        // process then?
        return still_there(pidfd, target);
    }
    if let (Some(fd), Some(pid), false) = (pidfd, target, any_file) {
        match ns::join_process(fd, from_target) {
            Ok(()) => return Ok(()),
            Err(Errno::SRCH) => return Err(exited(pid)),
            // EINVAL: a kernel before 5.8, to which a pidfd is no namespace
            // file. EPERM: the kernel joins the user namespace first and
            // checks the others against it, while the files below can join
            // those first, with our own capabilities. Either way the files
            // give the precise answer; nothing was joined.
            Err(Errno::INVAL | Errno::PERM) => {}
            Err(e) => {
                return Err(Error::sys(
                    packed!("join the namespaces"),
                    "setns(pidfd)",
                    b"",
                    e,
                ));
            }
        }
    }
    join_files(o, pidfd)
}

/// The file of namespace `ns` to open: FILE, or the target's ([`choose`]
/// refused a type left without FILE when no target is given).
fn file_path(ns: &Namespace, source: &Source, target: Option<u32>) -> CPath {
    match source.is_empty() {
        false => *source,
        true => ns::link_path(target, ns.proc_name),
    }
}

/// Join namespace by namespace, through files all opened and checked first
/// (so that nothing is joined when one of them is wrong).
fn join_files(o: &Options, pidfd: Option<BorrowedFd<'_>>) -> Result<()> {
    let target = o.target;
    let mut files: [Option<OwnedFd>; COUNT] = Default::default();
    for (i, (ns, source)) in NAMESPACES.iter().zip(&o.namespaces).enumerate() {
        let Some(source) = source else { continue };
        let path = file_path(ns, source, target);
        let mut fd = ns::open_file(path.as_cstr())
            .map_err(|e| open_error(ns, source, &path, target, pidfd, e))?;
        check_type(ns, fd.as_fd(), &path)?;
        if i == USER && o.user_parent {
            // --user-parent: the user namespace above that one.
            fd = ns::owner(fd.as_fd())
                .at(packed!("find the parent user namespace (--user-parent)"), "ioctl(NS_GET_USERNS)", path.as_bytes())
                .map_err(|e| match e.errno() {
                    Some(Errno::PERM) => e.hint(packed!("its parent is outside our own user namespace: only an ancestor's process can enter it")),
                    _ => e,
                })?;
        }
        files[i] = Some(fd);
    }
    // The target's files were opened by PID: the pidfd, still open, tells
    // whether that PID was still our process (not a recycled one) by then.
    still_there(pidfd, target)?;

    // First every type but user, with our own privileges; then the user
    // namespace; then again, with its privileges, what the first pass was
    // refused (EPERM).
    let joining_user = files[USER].is_some();
    let mut retry = [false; COUNT];
    for pass in 0..3 {
        for (i, ns) in NAMESPACES.iter().enumerate() {
            let chosen = match pass {
                0 => i != USER,
                1 => i == USER,
                _ => retry[i],
            };
            let (true, Some(fd)) = (chosen, &files[i]) else {
                continue;
            };
            match ns::join_file(fd.as_fd(), ns.flag) {
                Ok(()) => {}
                Err(Errno::PERM) if pass == 0 && joining_user => retry[i] = true,
                Err(e) => {
                    let path = match &o.namespaces[i] {
                        Some(source) => file_path(ns, source, target),
                        None => CPath::new(),
                    };
                    return Err(join_error(ns, &path, e));
                }
            }
        }
    }
    Ok(())
}

/// A namespace file of the wrong type is refused before anything is
/// joined. Kernels before 4.11 cannot tell (ENOTTY): setns will.
fn check_type(ns: &Namespace, fd: BorrowedFd<'_>, path: &CPath) -> Result<()> {
    match ns::file_type(fd) {
        Ok(kind) if kind != ns.flag => match NAMESPACES.iter().find(|other| other.flag == kind) {
            Some(other) => Err(bad!(
                "{} is not a {} namespace (it is a {} namespace)",
                path,
                ns.name,
                other.name
            )),
            None => Err(not_a(ns, path)),
        },
        _ => Ok(()),
    }
}

fn open_error(
    ns: &Namespace,
    source: &Source,
    path: &CPath,
    target: Option<u32>,
    pidfd: Option<BorrowedFd<'_>>,
    errno: Errno,
) -> Error {
    let base = Error::sys(
        packed!("open the namespace file"),
        "open",
        path.as_bytes(),
        errno,
    );
    let (true, Some(pid)) = (source.is_empty(), target) else {
        return base;
    };
    match errno {
        Errno::NOENT => {
            if pidfd.is_some_and(ns::has_exited) {
                return exited(pid);
            }
            if missing_namespace(ns.flag).is_some() {
                return bad!(
                    "--{}: this kernel has no {} namespace: it was built without {} (/proc/self/ns/{} is missing)",
                    ns.name,
                    ns.name,
                    ns.config,
                    ns.proc_name
                );
            }
            match no_proc_entry(pid) {
                true => no_such_process(pid),
                // /proc/PID is there but its links do not resolve.
                false => exited(pid),
            }
        }
        Errno::ACCESS | Errno::PERM => base.hint(PTRACE_HINT),
        _ => base,
    }
}

fn join_error(ns: &Namespace, path: &CPath, errno: Errno) -> Error {
    let base = Error::sys(
        packed!("join the namespace"),
        "setns",
        path.as_bytes(),
        errno,
    );
    match errno {
        Errno::PERM => base.hint(
            packed!("joining needs CAP_SYS_ADMIN over the namespace (and CAP_SYS_CHROOT for mount): run as root, or add -U to enter its user namespace first"),
        ),
        Errno::INVAL if ns.flag == k::CLONE_NEWUSER && own_inode(ns).is_some() && is_own(ns, path) => bad!("{} is our own user namespace, which the kernel does not let a process enter again", path),
        Errno::INVAL => not_a(ns, path),
        _ => base,
    }
}

/// `path` named a namespace of another type than `ns`'s.
fn not_a(ns: &Namespace, path: &CPath) -> Error {
    bad!("{} is not a {} namespace", path, ns.name)
}

/// Whether the namespace file at `path` is the one we are in.
fn is_own(ns: &Namespace, path: &CPath) -> bool {
    let own = ns::link_path(None, ns.proc_name);
    let id = |p: &CPath| {
        ns::open_file(p.as_cstr())
            .and_then(|fd| ns::identity(fd.as_fd()))
            .ok()
    };
    matches!((id(path), id(&own)), (Some(a), Some(b)) if a == b)
}

/// With `-p`: run the command as a child, the first process in the PID
/// namespace we joined, and wait for it.
fn run_forked(command: Args, env: Envp<'_>) -> Result<u8> {
    // A caller may have left SIGCHLD ignored, and then the kernel would reap
    // our child before we could read its status.
    signal::set_signal_default(Signal::CHILD.as_raw(), false);
    let spawned = clone::spawn(0, None, Signal::CHILD.as_raw() as u64, || {
        let error = exec_command(command, env);
        exec::exit_now(fail("nsenter", &error))
    })
    .map_err(|(call, e)| {
        let error = Error::sys(packed!("start the command"), call, b"", e);
        match e {
            // pid_namespaces(7): once its init has exited, nothing can be
            // started in a PID namespace.
            Errno::NOMEM => error.hint(packed!(
                "the PID namespace has no init any more (its PID 1 exited)"
            )),
            _ => error,
        }
    })?;
    let pid = spawned.process()?;
    let me = rustix::process::getpid();
    loop {
        let status = process::wait_for(pid, WaitIdOptions::EXITED | WaitIdOptions::STOPPED)?;
        if status.stopped() {
            // The command was stopped (^Z): stop too, so the shell sees the
            // job stop, and carry the continue back to it.
            let _ = process::send_signal(me, None, Signal::STOP.as_raw());
            let _ = process::send_signal(
                pid,
                spawned.pidfd.as_ref().map(|fd| fd.as_fd()),
                Signal::CONT.as_raw(),
            );
            continue;
        }
        return Ok(process::exit_like(&status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let words = [
            c"nsenter",
            c"-t42",
            c"-m",
            c"-u",
            c"--net=/run/netns/x",
            c"-i/proc/1/ns/ipc",
            c"--root=/srv",
            c"-w",
            c"-S",
            c"follow",
            c"id",
        ];
        let mut line = CommandLine::new(Args::for_test(&words), &NSENTER);
        let o = parse(&mut line).unwrap().unwrap();
        assert_eq!(o.target, Some(42));
        assert!(matches!(
            o.namespaces[index(k::CLONE_NEWNS)],
            Some(p) if p.is_empty()
        ));
        assert!(matches!(
            o.namespaces[index(k::CLONE_NEWUTS)],
            Some(p) if p.is_empty()
        ));
        assert!(matches!(
            o.namespaces[index(k::CLONE_NEWNET)],
            Some(f) if f.as_bytes() == b"/run/netns/x"
        ));
        assert!(matches!(
            o.namespaces[index(k::CLONE_NEWIPC)],
            Some(f) if f.as_bytes() == b"/proc/1/ns/ipc"
        ));
        assert!(o.namespaces[index(k::CLONE_NEWPID)].is_none());
        assert!(matches!(o.root, Some(d) if d.as_bytes() == b"/srv"));
        assert!(matches!(o.wd, Some(d) if d.is_empty()));
        assert!(matches!(o.uid, Some(Id::Follow)));
        assert_eq!(line.rest().len(), 1);
    }

    /// util-linux reads an attached value of a short option as the FILE or
    /// DIR (`-m/proc/P/ns/mnt`, `-r/tmp`, `-w/tmp`), and an unambiguous
    /// beginning of a long option as the option (`--targ`).
    #[test]
    fn attached_short_values_and_long_prefixes() {
        let words = [
            c"nsenter",
            c"--targ",
            c"7",
            c"-m/x/mnt",
            c"-r/tmp",
            c"-w/srv",
        ];
        let o = parse(&mut CommandLine::new(Args::for_test(&words), &NSENTER))
            .unwrap()
            .unwrap();
        assert_eq!(o.target, Some(7));
        assert!(matches!(
            o.namespaces[index(k::CLONE_NEWNS)],
            Some(f) if f.as_bytes() == b"/x/mnt"
        ));
        assert!(matches!(o.root, Some(d) if d.as_bytes() == b"/tmp"));
        assert!(matches!(o.wd, Some(d) if d.as_bytes() == b"/srv"));
    }

    #[test]
    fn bad_options() {
        for args in [
            &[c"nsenter", c"-t", c"x"][..],
            &[c"nsenter", c"-t", c"0"],
            &[c"nsenter", c"--bogus"],
            &[c"nsenter", c"-S", c"nobody"],
        ] {
            let mut line = CommandLine::new(Args::for_test(args), &NSENTER);
            assert!(parse(&mut line).is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_namespace_needs_a_target_or_a_file() {
        let words = [c"nsenter", c"-u", c"true"];
        let mut o = parse(&mut CommandLine::new(Args::for_test(&words), &NSENTER))
            .unwrap()
            .unwrap();
        assert!(choose(&mut o).is_err());
    }
}
