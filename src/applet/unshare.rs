//! `unshare`: run a program in new namespaces, with util-linux's flags.
//!
//! ```text
//! unshare [-m -u -i -n -p -U -C -T] [-f] [--mount-proc[=DIR]] [--propagation P]
//!         [-r | -c] [-R DIR] [-w DIR] [--kill-child[=SIG]] [--forward-signals]
//!         [--monotonic SECS] [--boottime SECS] [-S UID] [-G GID]
//!         [--map-user U] [--map-group G] [--map-users R…] [--map-groups R…]
//!         [--map-auto] [--map-subids] [--owner UID:GID] [--setgroups MODE]
//!         [--keep-caps] [--mount-binfmt[=DIR]] [-l RULE] [--clear-env]
//!         [--whitelist-env LIST] [--] [CMD [ARG…]]
//! ```
//!
//! The steps, in util-linux's order: unshare(2) in this process; the time
//! offsets (they can only be written before a process enters the new time
//! namespace); with `-f` a fork, whose child is PID 1 of a new PID namespace
//! and the first process of a new time namespace (unshare(2) moves neither
//! PID nor time for the caller itself, so `-p` and `-T` need `-f` to reach
//! the command); then, in the process that becomes the command: the
//! parent-death signal, the uid/gid maps, the propagation of `/`, chroot and
//! chdir, a fresh /proc, exec. No CMD runs `$SHELL`, else /bin/sh.
//!
//! **Exit status: util-linux's codes, not box's 125**, so that scripts
//! written for util-linux's unshare keep working: CMD's own status; 1 when
//! unshare fails before exec (one line on stderr), also for a bad option;
//! 126 when CMD cannot be executed, 127 when it is not found. With `-f`, a
//! CMD killed by signal N makes unshare kill itself with N (core dumps off,
//! so box leaves no core file of its own), so the caller sees the same
//! death, as with util-linux; util-linux 2.38 exits 1 instead when N is
//! SIGKILL, box dies by SIGKILL.
//!
//! **Signals, with `-f`**: SIGINT and SIGTERM are blocked in the waiting
//! parent (util-linux ≥ 2.36 ignores them): a ^C from the terminal reaches
//! the command, which is in the same process group, directly.
//! `--forward-signals` passes them on to the command instead. Every other
//! signal has its default effect on the parent (add `--kill-child` to take
//! the command down with it).
//!
//! Options are read as util-linux's getopt_long reads them, an unambiguous
//! beginning of a long option standing for it (`--map-root`, `--prop`);
//! `--kill-child` also takes a signal's number, where util-linux takes
//! names only.
//!
//! Persistent namespaces (`--net=FILE` and the like): a helper forked
//! before unshare(2), so still in the caller's namespaces, binds each new
//! namespace's file (`pid_for_children` and `time_for_children` for those
//! two, hence `--pid=FILE` needs `-f`) onto FILE once they exist, as
//! util-linux's; a FILE that cannot be bound undoes the others.
//!
//! Ranges of ids (`--map-users`, `--map-groups`, `--map-auto`,
//! `--map-subids`) are written by helpers forked before unshare(2), as
//! util-linux's: see [`idmap`]. `--owner UID:GID` takes those ids before
//! unshare(2), so that they own the new user namespace; the maps are then
//! written from outside too. `--clear-env` and `--whitelist-env` (in
//! util-linux's development tree, in no release yet) choose the command's
//! environment.
//!
//! `--mount-binfmt` and `-l` mount the new user namespace's own
//! binfmt_misc (Linux 6.7) and register an interpreter in it, as util-linux
//! 2.41: what the command runs through it (a foreign architecture's
//! binaries through qemu-user, say) is its own, not the host's.
//! Errors name what to change: the missing `CONFIG_*` option, the sysctl
//! that blocks user namespaces, `--propagation unchanged` inside a chroot.

use crate::packed::Packed;
use core::ffi::CStr;
use core::fmt::Write;

use linux_raw_sys::general as k;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::pipe::PipeFlags;
use rustix::process::{Signal, WaitIdOptions};
use rustix::thread::UnshareFlags;

mod idmap;

use idmap::{Kind, Ranges};

use super::util_linux::{self, EXIT_FAILURE, bad_value, exec_command, fail, index, index_of};
use crate::args::CommandLine;
use crate::config::{NAMESPACES, missing_namespace};
use crate::error::{Context, Error, Result};
use crate::options::{Command, Given, Opt, Usage};
use crate::sys::entry::Args;
use crate::sys::exec::CStrArray;
use crate::sys::process::Helper;
use crate::sys::signal::{self, SigSet};
use crate::sys::{clone, exec, ns, process};
use crate::text::{CPath, Text, parse_u64};
use crate::{bad, outln};

const SIGCHLD: i32 = Signal::CHILD.as_raw();
const SIGINT: i32 = Signal::INT.as_raw();
const SIGTERM: i32 = Signal::TERM.as_raw();
const SIGKILL: i32 = Signal::KILL.as_raw();

/// Clock ids in /proc/PID/timens_offsets (time_namespaces(7)). Numbers,
/// not names: the first kernels with time namespaces took only numbers.
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_BOOTTIME: u32 = 7;

/// `-r` maps the caller to root inside; `-c` to its own ids.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Map {
    Root,
    Current,
}

/// What the command line asked for.
struct Options {
    /// CLONE_NEW* flags for unshare(2).
    namespaces: u32,
    /// `--NAME=FILE`: where each new namespace is bound to outlive its
    /// processes (util-linux's persistent namespaces), indexed like
    /// [`NAMESPACES`].
    persist: [Option<CPath>; NAMESPACES.len()],
    fork: bool,
    forward_signals: bool,
    kill_child: Option<Signal>,
    mount_proc: Option<CPath>,
    /// Propagation set on `/` (recursively) in a new mount namespace;
    /// `None` for `--propagation unchanged`.
    propagation: Option<MountPropagationFlags>,
    map: Option<Map>,
    root: Option<CPath>,
    wd: Option<CPath>,
    monotonic: Option<i64>,
    boottime: Option<i64>,
    /// `-S`, `-G`: the ids the command runs with, set last.
    uid: Option<u32>,
    gid: Option<u32>,
    /// `--setgroups`: what /proc/self/setgroups is given.
    setgroups: Option<&'static [u8]>,
    keep_caps: bool,
    /// `--map-user`, `--map-group`: the ids ours become inside (over what
    /// `-r` or `-c` says).
    map_user: Option<u32>,
    map_group: Option<u32>,
    /// `--map-users`, `--map-groups` (and `--map-auto`, `--map-subids`):
    /// ranges, written by a helper outside the new user namespace.
    uid_ranges: Ranges,
    gid_ranges: Ranges,
    /// `--owner UID:GID`: the ids we take before unshare(2), which then
    /// own the new user namespace.
    owner: Option<(u32, u32)>,
    /// `--clear-env`: the command gets no environment, but what
    /// `--whitelist-env` keeps of ours.
    clear_env: bool,
    keep_env: heapless::Vec<&'static [u8], 16>,
    /// `--mount-binfmt`: where a binfmt_misc of the new user namespace is
    /// mounted; `-l`: what is registered in it.
    binfmt: Option<CPath>,
    interpreter: Option<&'static [u8]>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            namespaces: 0,
            persist: [None; NAMESPACES.len()],
            fork: false,
            forward_signals: false,
            kill_child: None,
            mount_proc: None,
            // util-linux ≥ 2.27: a new mount namespace gets `/` made
            // private, recursively, so that mounts inside stay inside even
            // where systemd made everything shared (mount_namespaces(7)).
            propagation: Some(MountPropagationFlags::PRIVATE),
            map: None,
            root: None,
            wd: None,
            monotonic: None,
            boottime: None,
            uid: None,
            gid: None,
            setgroups: None,
            keep_caps: false,
            map_user: None,
            map_group: None,
            uid_ranges: Ranges::new(),
            gid_ranges: Ranges::new(),
            owner: None,
            clear_env: false,
            keep_env: heapless::Vec::new(),
            binfmt: None,
            interpreter: None,
        }
    }
}

pub fn main(args: Args) -> u8 {
    util_linux::finish(&UNSHARE, run(args))
}

/// What unshare's options do.
#[derive(Clone, Copy, Debug)]
pub enum UnshareOption {
    /// A new namespace of this type (its index in [`NAMESPACES`]).
    Namespace(u8),
    Fork,
    MountProc,
    Propagation,
    MapRootUser,
    MapCurrentUser,
    Root,
    Wd,
    KillChild,
    ForwardSignals,
    Monotonic,
    Boottime,
    Setuid,
    Setgid,
    Setgroups,
    KeepCaps,
    MapUser,
    MapGroup,
    MapUsers,
    MapGroups,
    MapAuto,
    MapSubids,
    Owner,
    ClearEnv,
    WhitelistEnv,
    MountBinfmt,
    LoadInterp,
    Version,
}

const fn new_namespace(short: u8, name: &'static str, help: Packed) -> Opt<UnshareOption> {
    // `--net=FILE` is util-linux's persistent namespace, which box refuses
    // with a message (parse); `-nu` is -n and -u.
    Opt::attached_to_long(name, "FILE", help, UnshareOption::Namespace(index_of(name)))
        .short(short)
        .repeat()
}

pub const UNSHARE: Command<UnshareOption> = {
    use UnshareOption as U;
    Command {
        usage: Usage {
            name: "unshare",
            synopsis: &["[OPTIONS] [--] [CMD [ARG…]]"],
            about: packed!("Runs CMD ($SHELL, else /bin/sh) in new namespaces."),
            notes: packed!(
                "--kill-child takes a signal's name (TERM, SIGTERM) or, unlike util-linux's,\n\
                    its number. --NAME=FILE binds the new namespace onto FILE, which must\n\
                    exist, so that it outlives its processes (nsenter --NAME=FILE joins it;\n\
                    umount FILE ends it); --pid=FILE needs -f.\n\
                    \n\
                    A RANGE is INNER:OUTER:COUNT, or OUTER,INNER,COUNT as util-linux 2.38 wrote\n\
                    it; auto is your first range in /etc/subuid (/etc/subgid) from 0 inside,\n\
                    subids the same range to itself, all every id you have to itself. Root\n\
                    writes the ranges, anyone else's go through newuidmap and newgidmap.\n\
                    \n\
                    Exit status (util-linux's): CMD's own; with -f, a CMD killed by a signal\n\
                    kills unshare with the same signal; 1 if unshare failed, 126 if CMD cannot\n\
                    be executed, 127 if it was not found."
            ),
        },
        options: &[
            new_namespace(
                b'm',
                "mount",
                packed!("new mount namespace; / made private (--propagation)"),
            ),
            new_namespace(b'u', "uts", packed!("new UTS namespace (hostname)")),
            new_namespace(b'i', "ipc", packed!("new IPC namespace")),
            new_namespace(b'n', "net", packed!("new network namespace")),
            new_namespace(
                b'p',
                "pid",
                packed!("new PID namespace (for children: add -f)"),
            ),
            new_namespace(b'U', "user", packed!("new user namespace")),
            new_namespace(b'C', "cgroup", packed!("new cgroup namespace")),
            new_namespace(
                b'T',
                "time",
                packed!("new time namespace (for children: add -f)"),
            ),
            Opt::flag(
                "fork",
                packed!("run CMD as a child and wait for it"),
                U::Fork,
            )
            .short(b'f')
            .repeat(),
            Opt::attached(
                "mount-proc",
                "DIR",
                packed!("mount a new proc at DIR (/proc); implies -m"),
                U::MountProc,
            ),
            Opt::attached(
                "mount-binfmt",
                "DIR",
                packed!("mount its own binfmt_misc at DIR; implies -U, -m"),
                U::MountBinfmt,
            ),
            Opt::value(
                "load-interp",
                "RULE",
                packed!("register binfmt RULE in it; implies --mount-binfmt"),
                U::LoadInterp,
            )
            .short(b'l'),
            Opt::value(
                "propagation",
                "MODE",
                packed!("private (default), shared, slave or unchanged"),
                U::Propagation,
            ),
            Opt::flag(
                "map-root-user",
                packed!("map your uid and gid to root inside; implies -U"),
                U::MapRootUser,
            )
            .short(b'r'),
            Opt::flag(
                "map-current-user",
                packed!("map your uid and gid to themselves; implies -U"),
                U::MapCurrentUser,
            )
            .short(b'c'),
            Opt::value(
                "map-user",
                "UID",
                packed!("map your uid to UID (or a name) inside; implies -U"),
                U::MapUser,
            ),
            Opt::value(
                "map-group",
                "GID",
                packed!("map your gid to GID (or a name) inside; implies -U"),
                U::MapGroup,
            ),
            Opt::value(
                "map-users",
                "RANGE",
                packed!("map INNER:OUTER:COUNT, auto, subids, all; implies -U"),
                U::MapUsers,
            )
            .repeat(),
            Opt::value(
                "map-groups",
                "RANGE",
                packed!("the same for groups; implies -U"),
                U::MapGroups,
            )
            .repeat(),
            Opt::flag(
                "map-auto",
                packed!("--map-users=auto --map-groups=auto"),
                U::MapAuto,
            ),
            Opt::flag(
                "map-subids",
                packed!("--map-users=subids --map-groups=subids"),
                U::MapSubids,
            ),
            Opt::value(
                "owner",
                "UID:GID",
                packed!("owner of the new user ns (root only); implies -U"),
                U::Owner,
            ),
            Opt::value("root", "DIR", packed!("chroot into DIR"), U::Root).short(b'R'),
            Opt::value("wd", "DIR", packed!("change to DIR"), U::Wd).short(b'w'),
            Opt::attached(
                "kill-child",
                "SIG",
                packed!("send SIG (KILL) to CMD when unshare dies; implies -f"),
                U::KillChild,
            ),
            Opt::flag(
                "forward-signals",
                packed!("pass SIGINT and SIGTERM on to CMD; implies -f"),
                U::ForwardSignals,
            ),
            Opt::value(
                "monotonic",
                "SECS",
                packed!("offset of CLOCK_MONOTONIC in the new time namespace"),
                U::Monotonic,
            ),
            Opt::value(
                "boottime",
                "SECS",
                packed!("offset of CLOCK_BOOTTIME in the new time namespace"),
                U::Boottime,
            ),
            Opt::value("setuid", "UID", packed!("run CMD as UID inside"), U::Setuid).short(b'S'),
            Opt::value("setgid", "GID", packed!("run CMD as GID inside"), U::Setgid).short(b'G'),
            Opt::value(
                "setgroups",
                "MODE",
                packed!("allow or deny setgroups(2) in the new user ns"),
                U::Setgroups,
            ),
            Opt::flag(
                "keep-caps",
                packed!("CMD keeps its capabilities in the new user ns"),
                U::KeepCaps,
            ),
            Opt::flag(
                "clear-env",
                packed!("CMD gets no environment (but --whitelist-env's)"),
                U::ClearEnv,
            ),
            Opt::value(
                "whitelist-env",
                "LIST",
                packed!("CMD gets only these of our variables (NAME,NAME…)"),
                U::WhitelistEnv,
            )
            .repeat(),
            Opt::flag("version", packed!("print the version and exit"), U::Version).short(b'V'),
        ],
    }
};

fn run(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &UNSHARE);
    let Some(options) = parse(&mut line)? else {
        return Ok(0);
    };
    let command = line.rest();
    // The ids -r and -c map: ours before the user namespace exists.
    let ids = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );

    // `--NAME=FILE`: the binds are made from outside, by a helper that
    // stays in our namespaces (and keeps our rights in them).
    let me = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let binder = match options.persist.iter().any(Option::is_some) {
        true => Some(Helper::spawn(
            packed!("start the helper that binds the namespaces"),
            &|| match bind_namespace_files(me, &options.persist) {
                Ok(()) => 0,
                Err(e) => fail("unshare", &e),
            },
        )?),
        false => None,
    };

    // Ranges of ids: written from outside too, by a helper each for the
    // uid and the gid map (as root it writes them, else it runs newuidmap
    // or newgidmap, which check /etc/subuid and /etc/subgid).
    let mut mappers = heapless::Vec::<Helper, 2>::new();
    let (user, group) = single_ids(&options, ids);
    for (kind, ranges, single, outer) in [
        (Kind::Users, &options.uid_ranges, user, ids.0),
        (Kind::Groups, &options.gid_ranges, group, ids.1),
    ] {
        if !options.mapped_outside(kind) {
            continue;
        }
        let map = idmap::with_single(ranges, single.map(|inner| (outer, inner)))?;
        let mapper = Helper::spawn(packed!("start the helper that maps the ids"), &|| {
            idmap::write(kind, me, &map, args)
        })?;
        let _ = mappers.push(mapper);
    }

    // --owner: the ids that will own the new user namespace.
    if let Some((uid, gid)) = options.owner {
        let step = packed!("take the owner's ids (--owner)");
        rustix::thread::set_thread_groups(&[]).at(step, "setgroups", b"")?;
        let gid = rustix::thread::Gid::from_raw(gid);
        rustix::thread::set_thread_res_gid(gid, gid, gid).at(step, "setresgid", b"")?;
        let uid = rustix::thread::Uid::from_raw(uid);
        rustix::thread::set_thread_res_uid(uid, uid, uid).at(step, "setresuid", b"")?;
    }

    process::unshare(UnshareFlags::from_bits_retain(options.namespaces))
        .map_err(|e| unshare_error(e, options.namespaces))?;
    if let Some(word) = options.setgroups {
        // Before any gid map: the kernel takes it only then.
        write_proc_file(
            packed!("set setgroups (--setgroups)"),
            c"/proc/self/setgroups",
            word,
        )?;
    }
    for mapper in mappers {
        if !mapper.finish()? {
            return Ok(EXIT_FAILURE);
        }
    }
    set_time_offsets(&options)?;

    if options.fork {
        return run_forked(&options, ids, command, args, binder);
    }
    if let Some(binder) = binder
        && !binder.finish()?
    {
        return Ok(EXIT_FAILURE);
    }
    Err(start(&options, ids, command, args, None))
}

/// In the helper: bind each new namespace of process `pid` (the unshare,
/// which made them) onto its FILE, as util-linux's `--NAME=FILE`. Undone in
/// full if one fails.
fn bind_namespace_files(pid: u32, files: &[Option<CPath>; NAMESPACES.len()]) -> Result<()> {
    for (i, (ns, file)) in NAMESPACES.iter().zip(files).enumerate() {
        let Some(file) = file else { continue };
        // The namespaces unshare(2) made for children: the PID and time
        // namespaces of unshare itself stay the old ones.
        let link = match ns.flag {
            k::CLONE_NEWPID => "pid_for_children",
            k::CLONE_NEWTIME => "time_for_children",
            _ => ns.proc_name,
        };
        let source = ns::link_path(Some(pid), link);
        if let Err(errno) = rustix::mount::mount_bind(source.as_cstr(), file.as_cstr()) {
            for bound in files[..i].iter().flatten() {
                let _ = rustix::mount::unmount(bound.as_cstr(), UnmountFlags::DETACH);
            }
            let error = Error::sys(
                packed!("make the namespace persistent"),
                "mount --bind",
                file.as_bytes(),
                errno,
            );
            return Err(match errno {
                Errno::NOENT => error.hint(packed!("FILE must exist: create it first (touch FILE)")),
                Errno::INVAL if ns.flag == k::CLONE_NEWNS => error.hint(
                    packed!("the bind would propagate into another mount namespace, or the new namespace counts as older than this one: put FILE on a private mount (mount --bind DIR DIR; mount --make-private DIR); Linux 6.18 numbers namespaces per CPU: run on one (taskset -c 0)"),
                ),
                Errno::PERM | Errno::ACCESS => {
                    error.hint(packed!("binding needs CAP_SYS_ADMIN: run as root"))
                }
                _ => error,
            });
        }
    }
    Ok(())
}

/// The options, or `None` when one was answered (`--version`).
fn parse(line: &mut CommandLine<UnshareOption>) -> Result<Option<Options>> {
    use UnshareOption as U;
    let mut o = Options::default();
    while let Some(found) = line.next()? {
        let given = found.given;
        match found.action {
            U::Namespace(i) => {
                let i = usize::from(i);
                if let Some(file) = found.value {
                    set_path(&mut o.persist[i], &given, file)?;
                }
                o.namespaces |= NAMESPACES[i].flag;
            }
            U::Version => {
                outln!("unshare (box {})", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            U::Fork => o.fork = true,
            U::MountProc => {
                let dir = found.value.unwrap_or(b"/proc");
                set_path(&mut o.mount_proc, &given, dir)?;
                // A /proc mounted in the caller's mount namespace would
                // change it for every process there.
                o.namespaces |= k::CLONE_NEWNS;
            }
            U::Propagation => o.propagation = propagation(&given, found.text())?,
            U::MapRootUser | U::MapCurrentUser => {
                o.map = Some(match found.action {
                    U::MapRootUser => Map::Root,
                    _ => Map::Current,
                });
                o.namespaces |= k::CLONE_NEWUSER;
            }
            U::Root => set_path(&mut o.root, &given, found.text())?,
            U::Wd => set_path(&mut o.wd, &given, found.text())?,
            U::KillChild => {
                let name = found.value.unwrap_or(b"KILL");
                o.kill_child = Some(
                    signal::parse(name)
                        .and_then(Signal::from_named_raw)
                        .ok_or_else(|| {
                            bad_value(
                                &given,
                                "=",
                                name,
                                "unknown signal (use a name such as TERM or KILL)",
                            )
                        })?,
                );
                o.fork = true;
            }
            U::ForwardSignals => {
                o.forward_signals = true;
                o.fork = true;
            }
            U::Monotonic | U::Boottime => {
                let slot = match found.action {
                    U::Monotonic => &mut o.monotonic,
                    _ => &mut o.boottime,
                };
                *slot = Some(offset(&given, found.text())?);
            }
            U::Setuid | U::Setgid => {
                let slot = match found.action {
                    U::Setuid => &mut o.uid,
                    _ => &mut o.gid,
                };
                *slot = Some(id(&given, found.text())?);
            }
            U::Setgroups => {
                let word = found.text();
                o.setgroups = Some(
                    *[&b"allow"[..], b"deny"]
                        .iter()
                        .find(|mode| **mode == word)
                        .ok_or_else(|| bad_value(&given, " ", word, "use allow or deny"))?,
                );
            }
            U::KeepCaps => o.keep_caps = true,
            U::MapUser | U::MapGroup => {
                let word = found.text();
                let (id, slot, why) = match found.action {
                    U::MapUser => (util_linux::user_id(word), &mut o.map_user, "no such user"),
                    _ => (
                        util_linux::group_id(word),
                        &mut o.map_group,
                        "no such group",
                    ),
                };
                *slot = Some(id.ok_or_else(|| bad_value(&given, " ", word, why))?);
                o.namespaces |= k::CLONE_NEWUSER;
            }
            U::MapUsers | U::MapGroups | U::MapAuto | U::MapSubids => {
                let euid = rustix::process::geteuid().as_raw();
                let word = match found.action {
                    U::MapAuto => &b"auto"[..],
                    U::MapSubids => b"subids",
                    _ => found.text(),
                };
                if !matches!(found.action, U::MapGroups) {
                    idmap::add(&mut o.uid_ranges, Kind::Users, &given, word, euid)?;
                }
                if !matches!(found.action, U::MapUsers) {
                    idmap::add(&mut o.gid_ranges, Kind::Groups, &given, word, euid)?;
                }
                o.namespaces |= k::CLONE_NEWUSER;
            }
            U::Owner => {
                let word = found.text();
                let mut parts = word.splitn(2, |&b| b == b':');
                let ids = (parts.next().and_then(crate::text::parse_u32))
                    .zip(parts.next().and_then(crate::text::parse_u32));
                o.owner = Some(ids.ok_or_else(|| bad_value(&given, " ", word, "use UID:GID"))?);
                o.namespaces |= k::CLONE_NEWUSER;
            }
            U::MountBinfmt | U::LoadInterp => {
                // Without DIR, the usual place, in a new /proc (util-linux).
                if let (U::MountBinfmt, Some(dir)) = (found.action, found.value) {
                    set_path(&mut o.binfmt, &given, dir)?;
                } else if o.binfmt.is_none() {
                    set_path(&mut o.binfmt, &given, BINFMT_MISC)?;
                    if o.mount_proc.is_none() {
                        set_path(&mut o.mount_proc, &given, b"/proc")?;
                    }
                }
                if let U::LoadInterp = found.action {
                    o.interpreter = Some(found.text());
                }
                // binfmt_misc is per user namespace (Linux 6.7).
                o.namespaces |= k::CLONE_NEWNS | k::CLONE_NEWUSER;
            }
            U::ClearEnv => o.clear_env = true,
            U::WhitelistEnv => {
                o.clear_env = true;
                for name in found.text().split(|&b| b == b',').filter(|n| !n.is_empty()) {
                    o.keep_env
                        .push(name)
                        .map_err(|_| bad!("{}: more than 16 names", given))?;
                }
            }
        }
    }
    if o.setgroups.is_some() && o.namespaces & k::CLONE_NEWUSER == 0 {
        return Err(bad!("--setgroups: for a new user namespace: add -U"));
    }
    // Unprivileged, a gid map is written only after setgroups is denied;
    // util-linux refuses the two together, as box.
    if o.setgroups == Some(b"allow")
        && (o.map.is_some() || o.map_group.is_some())
        && !o.mapped_outside(Kind::Groups)
    {
        return Err(bad!(
            "--setgroups allow with -r, -c or --map-group: the gid map needs setgroups denied"
        ));
    }
    if o.persist[index(k::CLONE_NEWPID)].is_some() && !o.fork {
        return Err(bad!(
            "--pid=FILE: a PID namespace exists once its first process does: add -f"
        ));
    }
    if (o.monotonic.is_some() || o.boottime.is_some()) && o.namespaces & k::CLONE_NEWTIME == 0 {
        return Err(bad!(
            "--monotonic and --boottime set the clocks of a new time namespace: add -T"
        ));
    }
    Ok(Some(o))
}

fn set_path(slot: &mut Option<CPath>, option: &Given, value: &[u8]) -> Result<()> {
    util_linux::set_path(slot, option, value, false)
}

/// `--propagation`'s words: a table, smaller than a `match` on the words.
const PROPAGATIONS: [(&[u8], Option<MountPropagationFlags>); 4] = [
    (b"private", Some(MountPropagationFlags::PRIVATE)),
    (b"shared", Some(MountPropagationFlags::SHARED)),
    (b"slave", Some(MountPropagationFlags::DOWNSTREAM)),
    (b"unchanged", None),
];

fn propagation(option: &Given, word: &[u8]) -> Result<Option<MountPropagationFlags>> {
    match PROPAGATIONS.iter().find(|(name, _)| *name == word) {
        Some(&(_, flags)) => Ok(flags),
        None => Err(bad_value(
            option,
            " ",
            word,
            "use private, shared, slave or unchanged",
        )),
    }
}

/// Seconds, possibly negative.
fn offset(option: &Given, value: &[u8]) -> Result<i64> {
    let (negative, digits) = match value.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    parse_u64(digits)
        .and_then(|n| i64::try_from(n).ok())
        .map(|n| if negative { -n } else { n })
        .ok_or_else(|| bad_value(option, " ", value, "use whole seconds"))
}

/// `--monotonic`, `--boottime`: written to our own timens_offsets, which
/// belongs to the new time namespace our children will enter; the kernel
/// takes them only before the first process enters (time_namespaces(7)).
fn set_time_offsets(o: &Options) -> Result<()> {
    let mut text = Text::<96>::new();
    if let Some(secs) = o.monotonic {
        let _ = writeln!(text, "{CLOCK_MONOTONIC} {secs} 0");
    }
    if let Some(secs) = o.boottime {
        let _ = writeln!(text, "{CLOCK_BOOTTIME} {secs} 0");
    }
    if text.is_empty() {
        return Ok(());
    }
    write_proc_file(
        packed!("set the clock offsets"),
        c"/proc/self/timens_offsets",
        text.as_bytes(),
    )
}

/// With `-f`: start the command in a child and wait for it, as util-linux.
fn run_forked(
    o: &Options,
    ids: (u32, u32),
    command: Args,
    env: Args,
    binder: Option<Helper>,
) -> Result<u8> {
    // Blocked before the fork and for good: SIGINT and SIGTERM are ignored
    // by a waiting util-linux unshare, or forwarded with --forward-signals;
    // SIGCHLD waits in the pending set, so a command that exits at once is
    // never missed by the signal wait below.
    let watched = SigSet::of(&[SIGINT, SIGTERM, SIGCHLD]);
    let old_mask = signal::block_signals(&watched);
    // A caller may have left SIGCHLD ignored, and then the kernel would reap
    // our child before we could read its status.
    signal::set_signal_default(SIGCHLD, false);

    // --kill-child: we hold the only read end of this pipe, so the child
    // sees POLLERR on its write end once we are gone, which tells it we
    // died before its PR_SET_PDEATHSIG was in place.
    let mut watch = match o.kill_child {
        Some(_) => Some(rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
            packed!("watch for unshare's death"),
            "pipe2",
            b"",
        )?),
        None => None,
    };
    let spawned = clone::spawn(0, None, SIGCHLD as u64, || {
        // The command starts with the signal mask we were given.
        signal::set_signal_mask(&old_mask);
        let parent = watch.take().map(|(read, write)| {
            drop(read);
            write
        });
        let error = start(o, ids, command, env, parent.as_ref().map(|fd| fd.as_fd()));
        exec::exit_now(fail("unshare", &error))
    })
    .map_err(|(call, e)| Error::sys(packed!("start the command"), call, b"", e))?;
    // Keep the read end open until we exit; the write end is the child's.
    let _watch_read = watch.map(|(read, _write)| read);

    let pid = spawned.process()?;
    // A PID namespace exists once its first process does: bound only now.
    if let Some(binder) = binder
        && !binder.finish()?
    {
        let _ = process::send_signal(pid, spawned.pidfd.as_ref().map(|fd| fd.as_fd()), SIGKILL);
        let _ = process::wait_for(pid, WaitIdOptions::EXITED);
        return Ok(EXIT_FAILURE);
    }
    let status = if o.forward_signals {
        // SIGINT and SIGTERM are passed on.
        let pidfd = spawned.pidfd.as_ref().map(|fd| fd.as_fd());
        process::wait_forwarding(pid, pidfd, &watched)
            .map_err(|e| Error::sys(packed!("wait for the command"), "waitid", b"", e))?
    } else {
        process::wait_for(pid, WaitIdOptions::EXITED)?
    };
    Ok(process::exit_like(&status))
}

/// In the process that becomes the command: the remaining steps, then exec.
/// Returns only the error (exec does not return on success). Runs after
/// the fork with `-f`: raw syscalls only, no allocation.
fn start(
    o: &Options,
    ids: (u32, u32),
    command: Args,
    env: Args,
    parent: Option<BorrowedFd<'_>>,
) -> Error {
    if let Err(e) = prepare(o, ids, parent) {
        return e;
    }
    if !o.clear_env {
        return exec_command(command, env.envp());
    }
    // --clear-env, --whitelist-env: only the variables named.
    let mut kept = CStrArray::<64>::new();
    for entry in env.envp().entries() {
        let name = entry.to_bytes().split(|&b| b == b'=').next().unwrap_or(b"");
        if o.keep_env.contains(&name) && kept.push(entry).is_err() {
            return bad!("--whitelist-env: more than 63 variables");
        }
    }
    exec_command(command, kept.envp())
}

fn prepare(o: &Options, ids: (u32, u32), parent: Option<BorrowedFd<'_>>) -> Result<()> {
    if let (Some(signal), Some(parent)) = (o.kill_child, parent) {
        die_with_parent(signal, parent)?;
    }
    write_id_maps(o, ids)?;
    // Before any mount: with `/` shared, a mount made here would show up
    // in the caller's namespace too.
    if o.namespaces & k::CLONE_NEWNS != 0
        && let Some(propagation) = o.propagation
    {
        rustix::mount::mount_change(c"/", propagation | MountPropagationFlags::REC)
            .at(packed!("set the propagation of /"), "mount", b"/")
            .map_err(|e| match e.errno() {
                // util-linux#718: `/` of a chroot is not a mount point.
                Some(Errno::INVAL) => e.hint(packed!(
                    "/ is not a mount point here, as inside a chroot: add --propagation unchanged"
                )),
                _ => e,
            })?;
    }
    // A rule with flag F opens its interpreter now: from our root, so it
    // is registered before the chroot (util-linux's order).
    let fixed = o.interpreter.filter(|rule| is_fixed(rule));
    if let (Some(rule), Some(_)) = (fixed, &o.root) {
        let dir = CPath::from_bytes(BINFMT_MISC).unwrap_or_default();
        mount_binfmt(&dir)?;
        register(&dir, rule)?;
    }
    if let Some(root) = &o.root {
        rustix::process::chroot(root.as_cstr()).at(
            packed!("change the root"),
            "chroot",
            root.as_bytes(),
        )?;
    }
    // -w DIR, else after -R the new root.
    let wd = match (&o.wd, &o.root) {
        (Some(wd), _) => Some(wd.as_cstr()),
        (None, Some(_)) => Some(c"/"),
        (None, None) => None,
    };
    if let Some(wd) = wd {
        rustix::process::chdir(wd).at(
            packed!("change the working directory"),
            "chdir",
            wd.to_bytes(),
        )?;
    }
    if let Some(dir) = &o.mount_proc {
        mount_proc(o, dir)?;
    }
    if let Some(dir) = &o.binfmt {
        mount_binfmt(dir)?;
        if let Some(rule) = o.interpreter
            && (fixed.is_none() || o.root.is_none())
        {
            register(dir, rule)?;
        }
    }
    // -G, -S last, as util-linux: the supplementary groups go with a new
    // gid where the kernel lets them (not where setgroups is "deny").
    if let Some(gid) = o.gid {
        let _ = rustix::thread::set_thread_groups(&[]);
        let id = rustix::thread::Gid::from_raw(gid);
        rustix::thread::set_thread_res_gid(id, id, id)
            .map_err(|e| Error::sys(packed!("set the identity"), "setresgid", b"", e))?;
    }
    if let Some(uid) = o.uid {
        let id = rustix::thread::Uid::from_raw(uid);
        rustix::thread::set_thread_res_uid(id, id, id)
            .map_err(|e| Error::sys(packed!("set the identity"), "setresuid", b"", e))?;
    }
    // --keep-caps: the capabilities we have in the new user namespace
    // survive the exec (as util-linux, only with one).
    if o.keep_caps && o.namespaces & k::CLONE_NEWUSER != 0 {
        super::util_linux::keep_caps()?;
    }
    Ok(())
}

/// `-S`, `-G`: a number (names are not looked up).
fn id(option: &Given, value: &[u8]) -> Result<u32> {
    crate::text::parse_u32(value)
        .filter(|&n| n != u32::MAX)
        .ok_or_else(|| bad_value(option, " ", value, "use a number"))
}

/// `--kill-child`: the signal we get when unshare dies, then a look at the
/// pipe in case unshare died before the prctl.
fn die_with_parent(signal: Signal, parent: BorrowedFd<'_>) -> Result<()> {
    let unshare_is_there = process::die_with_parent(signal, parent).at(
        packed!("tie the command to unshare (--kill-child)"),
        "prctl(PR_SET_PDEATHSIG)",
        b"",
    )?;
    if !unshare_is_there {
        let _ = process::send_signal(rustix::process::getpid(), None, signal.as_raw());
        exec::exit_now(EXIT_FAILURE);
    }
    Ok(())
}

/// `-r`, `-c`, `--map-user`, `--map-group`: the caller's uid and gid
/// mapped to root, to themselves, or to the ids given; a map for either
/// alone where only one was asked for.
fn write_id_maps(o: &Options, (uid, gid): (u32, u32)) -> Result<()> {
    let (mut inner_uid, mut inner_gid) = single_ids(o, (uid, gid));
    // Those the helpers wrote with the ranges.
    if o.mapped_outside(Kind::Users) {
        inner_uid = None;
    }
    if o.mapped_outside(Kind::Groups) {
        inner_gid = None;
    }
    let uid_map = map_line(inner_uid, uid);
    let gid_map = map_line(inner_gid, gid);
    let step = packed!("map the user namespace");
    match (inner_uid, inner_gid) {
        (Some(_), Some(_)) => ns::write_id_maps(None, uid_map.as_bytes(), gid_map.as_bytes(), true),
        (Some(_), None) => write_proc_file(step, c"/proc/self/uid_map", uid_map.as_bytes()),
        (None, Some(_)) => {
            // The kernel takes an unprivileged gid map once setgroups is
            // denied (user_namespaces(7)).
            write_proc_file(step, c"/proc/self/setgroups", b"deny")?;
            write_proc_file(step, c"/proc/self/gid_map", gid_map.as_bytes())
        }
        (None, None) => Ok(()),
    }
}

/// The line of a uid or gid map for the single id `outer` seen as `inner`
/// (empty without one): `INNER OUTER 1`.
fn map_line(inner: Option<u32>, outer: u32) -> Text<48> {
    let mut line = Text::new();
    if let Some(inner) = inner {
        let _ = writeln!(line, "{inner} {outer} 1");
    }
    line
}

/// The ids inside that our uid and gid become (`-r`, `-c`,
/// `--map-user`, `--map-group`), if any.
fn single_ids(o: &Options, (uid, gid): (u32, u32)) -> (Option<u32>, Option<u32>) {
    let (user, group) = match o.map {
        Some(Map::Root) => (Some(0), Some(0)),
        Some(Map::Current) => (Some(uid), Some(gid)),
        None => (None, None),
    };
    (o.map_user.or(user), o.map_group.or(group))
}

impl Options {
    /// Whether the uid (gid) map is written by a helper outside: with
    /// ranges, or with `--owner`, whose ids may not write it from inside.
    fn mapped_outside(&self, kind: Kind) -> bool {
        let (ranges, single) = match kind {
            Kind::Users => (&self.uid_ranges, self.map_user.is_some()),
            Kind::Groups => (&self.gid_ranges, self.map_group.is_some()),
        };
        !ranges.is_empty() || (self.owner.is_some() && (single || self.map.is_some()))
    }
}

/// Write `content` to a /proc file in one write(2), as the kernel wants.
fn write_proc_file(step: Packed, path: &CStr, content: &[u8]) -> Result<()> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()).at(
        step,
        "open",
        path.to_bytes(),
    )?;
    rustix::io::write(&fd, content)
        .map(drop)
        .at(step, "write", path.to_bytes())
}

/// Where binfmt_misc is mounted, in /proc.
const BINFMT_MISC: &[u8] = b"/proc/sys/fs/binfmt_misc";

/// Whether a binfmt_misc rule has flag F (its last field): the kernel
/// opens the interpreter when the rule is registered.
fn is_fixed(rule: &[u8]) -> bool {
    rule.rsplit(|&b| b == b':')
        .next()
        .is_some_and(|flags| flags.contains(&b'F'))
}

/// A new filesystem of type `kind` (proc, binfmt_misc) at `dir`, nosuid,
/// nodev, noexec, as util-linux mounts them.
fn mount_special(kind: &CStr, dir: &CPath) -> core::result::Result<(), Errno> {
    let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    rustix::mount::mount(kind, dir.as_cstr(), kind, flags, None)
}

/// `--mount-binfmt`: the binfmt_misc of our user namespace at `dir`
/// (Linux 6.7 gives each user namespace its own).
fn mount_binfmt(dir: &CPath) -> Result<()> {
    mount_special(c"binfmt_misc", dir)
        .at(
            packed!("mount binfmt_misc (--mount-binfmt)"),
            "mount",
            dir.as_bytes(),
        )
        .map_err(|e| {
            match e.errno() {
        Some(Errno::PERM) => e.hint(packed!("a binfmt_misc of a user namespace needs Linux 6.7 or later")),
        Some(Errno::NODEV) => {
            e.hint(packed!("this kernel has no binfmt_misc: it was built without CONFIG_BINFMT_MISC"))
        }
        Some(Errno::NOENT) => e.hint(
            packed!("the directory does not exist (without DIR, /proc/sys/fs/binfmt_misc of the new /proc)"),
        ),
        _ => e,
    }
        })
}

/// `-l RULE`: register RULE in the binfmt_misc at `dir`, in one write.
fn register(dir: &CPath, rule: &[u8]) -> Result<()> {
    let mut path = *dir;
    let _ = path.push(b"/register");
    write_proc_file(
        packed!("register the interpreter (--load-interp)"),
        path.as_cstr(),
        rule,
    )
    .map_err(|e| match e.errno() {
        Some(Errno::INVAL) => e.hint(packed!(
            "a rule is :NAME:TYPE:OFFSET:MAGIC:MASK:INTERPRETER:FLAGS (TYPE M or E)"
        )),
        Some(Errno::EXIST) => e.hint(packed!("a rule of that NAME is registered already")),
        Some(Errno::NOENT) => e.hint(packed!(
            "DIR/register must be a binfmt_misc, and with flag F the interpreter must exist"
        )),
        _ => e,
    })
}

/// `--mount-proc[=DIR]`: a proc of our PID namespace (after `-f`, the new
/// one) at DIR, nosuid, nodev, noexec, as util-linux mounts it.
fn mount_proc(o: &Options, dir: &CPath) -> Result<()> {
    // `/` made private recursively covers DIR already. With another
    // propagation, make DIR private so the new proc stays out of the
    // caller's namespace; DIR that is not a mount point gives EINVAL, which
    // is fine (util-linux#648).
    if o.root.is_none() && o.propagation != Some(MountPropagationFlags::PRIVATE) {
        match rustix::mount::mount_change(
            dir.as_cstr(),
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        ) {
            Ok(()) | Err(Errno::INVAL) => {}
            Err(e) => {
                return Err(Error::sys(
                    packed!("make the proc mount point private"),
                    "mount",
                    dir.as_bytes(),
                    e,
                ));
            }
        }
    }
    mount_special(c"proc", dir)
    .at(packed!("mount proc (--mount-proc)"), "mount", dir.as_bytes())
    .map_err(|e| match e.errno() {
        Some(Errno::PERM) if o.namespaces & k::CLONE_NEWUSER != 0 => e.hint(
            packed!("in a user namespace the kernel allows a new proc only if the existing one has nothing mounted over parts of it"),
        ),
        Some(Errno::NOENT) => e.hint(packed!("the directory does not exist")),
        _ => e,
    })
}

/// The line for a failed unshare(2): the missing kernel option for EINVAL,
/// the sysctl for a refused user namespace.
fn unshare_error(errno: Errno, flags: u32) -> Error {
    let mut names = Text::<64>::new();
    for ns in NAMESPACES.iter().filter(|ns| flags & ns.flag != 0) {
        if !names.is_empty() {
            names.push(b",");
        }
        names.push(ns.name.as_bytes());
    }
    let base = Error::sys(
        packed!("create the namespaces"),
        "unshare",
        names.as_bytes(),
        errno,
    );
    match errno {
        Errno::INVAL => match missing_namespace(flags) {
            Some(ns) => bad!("create the namespaces: unshare({}): Invalid argument (this kernel has no {} namespace: it was built without {}; /proc/self/ns/{} is missing)", names, ns.name, ns.config, ns.proc_name),
            None => base,
        },
        Errno::PERM | Errno::NOSPC | Errno::USERS if flags & k::CLONE_NEWUSER != 0 => {
            base.hint(ns::userns_hint(errno))
        }
        Errno::PERM => base.hint(
            packed!("new namespaces need CAP_SYS_ADMIN: run as root, or add -r for a user namespace that maps you to root"),
        ),
        Errno::NOSPC | Errno::USERS => base.hint(
            packed!("a namespace limit was reached: see the sysctls user.max_*_namespaces"),
        ),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIVEN: Given = Given::Long("x");

    fn parse_words(words: &[&'static CStr]) -> Result<Option<Options>> {
        parse(&mut CommandLine::new(Args::for_test(words), &UNSHARE))
    }

    #[test]
    fn propagation_words() {
        assert_eq!(
            propagation(&GIVEN, b"slave").unwrap(),
            Some(MountPropagationFlags::DOWNSTREAM)
        );
        assert_eq!(propagation(&GIVEN, b"unchanged").unwrap(), None);
        assert!(propagation(&GIVEN, b"unbindable").is_err());
    }

    #[test]
    fn offsets() {
        assert_eq!(offset(&GIVEN, b"-86400").unwrap(), -86400);
        assert_eq!(offset(&GIVEN, b"5").unwrap(), 5);
        assert!(offset(&GIVEN, b"1.5").is_err());
        assert!(offset(&GIVEN, b"").is_err());
    }

    #[test]
    fn options() {
        let words = [c"unshare", c"-fpu", c"--mount-proc", c"-r", c"id"];
        let mut line = CommandLine::new(Args::for_test(&words), &UNSHARE);
        let o = parse(&mut line).unwrap().unwrap();
        let want = k::CLONE_NEWPID | k::CLONE_NEWUTS | k::CLONE_NEWNS | k::CLONE_NEWUSER;
        assert_eq!(o.namespaces, want);
        assert!(o.fork);
        assert_eq!(o.mount_proc.unwrap().as_bytes(), b"/proc");
        assert_eq!(o.map, Some(Map::Root));
        assert_eq!(line.rest().len(), 1);

        let o = parse_words(&[c"unshare", c"--net=/run/netns/x", c"-u"])
            .unwrap()
            .unwrap();
        assert_eq!(o.namespaces, k::CLONE_NEWNET | k::CLONE_NEWUTS);
        let net = NAMESPACES.iter().position(|ns| ns.flag == k::CLONE_NEWNET);
        let persisted: Vec<_> = o.persist.iter().flatten().map(|p| p.as_bytes()).collect();
        assert_eq!(persisted, [b"/run/netns/x"]);
        assert!(o.persist[net.unwrap()].is_some());
        // A PID namespace exists once its first process does.
        assert!(parse_words(&[c"unshare", c"--pid=/run/p"]).is_err());
        assert!(parse_words(&[c"unshare", c"-f", c"--pid=/run/p"]).is_ok());
        assert!(parse_words(&[c"unshare", c"--boottime", c"5"]).is_err());
        let o = parse_words(&[c"unshare", c"--kill-child=TERM"])
            .unwrap()
            .unwrap();
        assert_eq!(o.kill_child, Some(Signal::TERM));
        assert!(o.fork);
    }

    /// util-linux's getopt_long takes an unambiguous beginning of a long
    /// option, and scripts use them: `--map-root`, `--prop=private`.
    #[test]
    fn unambiguous_prefixes_and_short_namespaces() {
        let o = parse_words(&[c"unshare", c"--map-root", c"--prop=unchanged", c"--forw"])
            .unwrap()
            .unwrap();
        assert_eq!(o.map, Some(Map::Root));
        assert_eq!(o.propagation, None);
        assert!(o.forward_signals && o.fork);
        // --m begins --mount, --mount-proc, --map-root-user…: refused.
        let e = parse_words(&[c"unshare", c"--m"]).err().unwrap();
        assert!(e.to_string().contains("ambiguous"), "{e}");
        // A short namespace option takes no value: -mu is -m and -u.
        let o = parse_words(&[c"unshare", c"-mu"]).unwrap().unwrap();
        assert_eq!(o.namespaces, k::CLONE_NEWNS | k::CLONE_NEWUTS);
    }
}
