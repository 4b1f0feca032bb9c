//! Containers: create one from a [`Plan`], forward signals to it, collect
//! its exit status. [`launch`] (life.rs) is the way in for every caller;
//! the child side is in `child.rs`, the filesystem in `rootfs.rs`.

pub mod calls;
pub mod child;
#[cfg(feature = "oci")]
pub mod copy_up;
pub mod detach;
pub mod enter;
pub mod life;
pub mod plan;
pub mod rootfs;
pub mod tty;

use core::ffi::c_int;

use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use rustix::process::{Pid, Signal};

use crate::bad;
use crate::cgroup::ContainerCgroup;
use crate::config::missing_namespace;
use crate::error::{Context, Error, Result};
use crate::sys::signal::SigSet;
use crate::sys::timing::{self, Step};
use crate::sys::{clone, exec, ns, process};
pub use life::{Life, Mode, launch};
use plan::Plan;

use linux_raw_sys::general as k;

/// Signals `box run` passes on to the container (DESIGN.md section 2), and
/// SIGWINCH so a resized terminal reaches an interactive program.
pub const FORWARDED: &[c_int] = &[
    Signal::HUP.as_raw(),
    Signal::INT.as_raw(),
    Signal::QUIT.as_raw(),
    Signal::TERM.as_raw(),
    Signal::USR1.as_raw(),
    Signal::USR2.as_raw(),
    Signal::WINCH.as_raw(),
];

const SIGCHLD: c_int = Signal::CHILD.as_raw();
const SIGKILL: c_int = Signal::KILL.as_raw();

/// The signals box waits for: the forwarded ones and SIGCHLD.
pub fn watched_signals() -> SigSet {
    let mut list = [0; 8];
    list[..FORWARDED.len()].copy_from_slice(FORWARDED);
    list[FORWARDED.len()] = SIGCHLD;
    SigSet::of(&list)
}

/// A started container: its init process, and its cgroup (removed with
/// anything left in it when this is dropped, after the init is reaped).
pub struct Container {
    pub pid: Pid,
    pub pidfd: Option<OwnedFd>,
    pub cgroup: Option<ContainerCgroup>,
}

/// The pipes between box and the container child.
struct Channels {
    report_read: OwnedFd,
    report_write: OwnedFd,
    /// With a user namespace the child waits on this until its maps exist.
    sync: Option<(OwnedFd, OwnedFd)>,
    /// When the child forks the container's init (a new PID namespace in a
    /// joined user namespace, child.rs), it sends the init's PID on this.
    init_pid: Option<(OwnedFd, OwnedFd)>,
    /// The command's 0, 1, 2 (closed in box once the child has them).
    stdio: tty::ChildStdio,
}

/// Create the container and start its command, with its 0, 1, 2
/// connected as `stdio` says (tty::Relay::prepare). Returns once the
/// command runs, or with the error the child reported (exit status 125,
/// 126, 127). The container owns `cgroup` from here on. [`launch`] is the
/// whole life around this.
///
/// The signals of [`watched_signals`] must be blocked by the caller before
/// this is called, and stay blocked: a command that exits at once must leave
/// its SIGCHLD pending for [`wait`], never lost.
///
/// Not inlined: see life.rs's `start`.
#[inline(never)]
fn start(
    plan: &Plan,
    cgroup: Option<ContainerCgroup>,
    stdio: tty::ChildStdio,
) -> Result<Container> {
    // The child reports a failure before exec on this pipe; CLOEXEC closes
    // its end at exec, so EOF means the command runs.
    let (report_read, report_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
        packed!("create the report pipe"),
        "pipe2",
        b"",
    )?;
    let sync = match plan.id_maps {
        Some(_) => Some(rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
            packed!("create the sync pipe"),
            "pipe2",
            b"",
        )?),
        None => None,
    };
    let init_pid = if plan.unshare_after_join.has(k::CLONE_NEWPID) {
        Some(rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
            packed!("create the PID pipe"),
            "pipe2",
            b"",
        )?)
    } else {
        None
    };
    let mut channels = Some(Channels {
        report_read,
        report_write,
        sync,
        init_pid,
        stdio,
    });

    if plan.unshare_time {
        process::unshare(rustix::thread::UnshareFlags::NEWTIME)
            .map_err(|e| namespace_error("unshare", e, plan))?;
    }

    // Into the cgroup atomically with clone3 (CLONE_INTO_CGROUP, 5.7+, v2).
    // If the kernel refuses (ENOSYS; EOPNOTSUPP for a "domain invalid"
    // group; EBUSY, no internal processes; EACCES; E2BIG or EINVAL before
    // 5.7), clone without it and let the child join by itself before it
    // does anything else. A cgroup namespace is then made by the child after
    // joining, so that its root is the container's group.
    // A child that joins namespaces is not dumpable until it executes the
    // command (see Undumpable), and is born so: the flag passes to it.
    let _undumpable = if plan.joins.is_empty() {
        None
    } else {
        Some(Undumpable::now()?)
    };
    // A PID namespace is joined for children only (setns(2)): box joins it
    // for the clone below, which makes the container's init in it, and
    // returns to its own as soon as this function ends, failed or not.
    let _pid_namespace = match plan.joined(k::CLONE_NEWPID) {
        Some(joined) => Some(PidForChildren::join(joined)?),
        None => None,
    };

    let flags = u64::from(plan.clone_namespaces.0);
    let cg = cgroup.as_ref();
    let mut spawned = None;
    if let Some(fd) = cg.and_then(ContainerCgroup::clone_fd) {
        if let Ok(s) = spawn_child(plan, flags, Some(fd), None, &mut channels) {
            spawned = Some(s);
        }
    }
    let spawned = match spawned {
        Some(s) => s,
        None => {
            let flags = if cg.is_some() {
                flags & !u64::from(k::CLONE_NEWCGROUP)
            } else {
                flags
            };
            spawn_child(plan, flags, None, cg, &mut channels)
                .map_err(|(call, e)| namespace_error(call, e, plan))?
        }
    };
    timing::mark(Step::Clone);
    let Channels {
        report_read,
        report_write,
        sync,
        init_pid,
        stdio,
    } = channels.take().ok_or_else(|| bad!("report pipe lost"))?;
    // The child has its own copies: box keeps only its ends (tty::Relay).
    drop(stdio);
    let mut pid = spawned.process()?;
    let mut pidfd = spawned.pidfd;
    drop(report_write);
    // The child forked the container's init as box's child and exits:
    // the init is the container from here on. No PID (end of file): the
    // child failed first and says why on the report pipe.
    if let Some((read, write)) = init_pid {
        drop(write);
        if let Some(init) = read_pid(read.as_fd()) {
            let _ = process::reap(pid);
            pid = init;
            pidfd = ns::open_process(init.as_raw_nonzero().get() as u32).ok();
        }
    }

    let container = Container { pid, pidfd, cgroup };
    if let (Some((sync_read, sync_write)), Some(ids)) = (sync, &plan.id_maps) {
        drop(sync_read);
        if let Err(e) = ns::write_id_maps(
            Some(pid),
            ids.uid.as_bytes(),
            ids.gid.as_bytes(),
            ids.deny_setgroups,
        ) {
            abandon(&container);
            return Err(e);
        }
        crate::out::write_all(&sync_write, b"1");
    }

    let report = match child::Report::read(report_read.as_fd()) {
        Ok(report) => report,
        Err(e) => {
            abandon(&container);
            return Err(Error::sys(
                packed!("read the child's report"),
                "read",
                b"",
                e,
            ));
        }
    };
    timing::mark(Step::Child);
    if report.is_empty() {
        return Ok(container);
    }
    // The child failed before exec and is exiting: reap it, pass its line on.
    let _ = process::reap(pid);
    Err(report.error("the container"))
}

/// One attempt at clone: the child takes the channels (a failed attempt
/// leaves them for the next one). `join` is the cgroup the child must join
/// itself.
fn spawn_child(
    plan: &Plan,
    flags: u64,
    into: Option<rustix::fd::BorrowedFd<'_>>,
    join: Option<&ContainerCgroup>,
    channels: &mut Option<Channels>,
) -> core::result::Result<clone::Spawned, (&'static str, Errno)> {
    clone::spawn(flags, into, SIGCHLD as u64, || {
        let Some(c) = channels.take() else {
            exec::exit_now(crate::error::EXIT_BOX)
        };
        let sync_read = c.sync.map(|(read, write)| {
            drop(write);
            read
        });
        let init_pid = c.init_pid.map(|(read, write)| {
            drop(read);
            write
        });
        child::run(
            plan,
            join,
            c.report_write,
            c.report_read,
            sync_read,
            init_pid,
            &c.stdio,
        )
    })
}

/// The PID the child sent (four bytes, native order), or `None` at end of
/// file.
fn read_pid(fd: rustix::fd::BorrowedFd<'_>) -> Option<Pid> {
    let mut bytes = [0u8; 4];
    let mut got = 0;
    while got < bytes.len() {
        match rustix::io::read(fd, &mut bytes[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(_) => return None,
        }
    }
    Pid::from_raw(i32::from_ne_bytes(bytes))
}

/// box not dumpable while it makes a child that joins namespaces by path.
/// The child is born in a joined PID namespace, where every process there
/// sees it, and holds box's credentials (uid 0, every capability) in a
/// joined user namespace, where its owner holds CAP_SYS_PTRACE: a tracer
/// could reach it before its seccomp filter and its capability drop, or
/// use its uid 0 on host files. A process that is not dumpable can be
/// traced, and its /proc/PID files opened, only with CAP_SYS_PTRACE in the
/// user namespace it was executed in, the host's (ptrace(2), "Ptrace access
/// mode checking"). The flag passes to the child (clone, fork) and lasts
/// until it executes the command; dropping this restores box's own.
struct Undumpable(rustix::process::DumpableBehavior);

impl Undumpable {
    fn now() -> Result<Undumpable> {
        use rustix::process::{DumpableBehavior, dumpable_behavior, set_dumpable_behavior};
        // (Unreadable, it is restored as not dumpable: the safe side.)
        let own = dumpable_behavior().unwrap_or(DumpableBehavior::NotDumpable);
        set_dumpable_behavior(DumpableBehavior::NotDumpable).at(
            packed!("make box not dumpable"),
            "prctl(PR_SET_DUMPABLE)",
            b"0",
        )?;
        Ok(Undumpable(own))
    }
}

impl Drop for Undumpable {
    fn drop(&mut self) {
        let _ = rustix::process::set_dumpable_behavior(self.0);
    }
}

/// box's own PID namespace for children while a joined one is in force
/// for the clone: dropping this returns to it (setns to one's own active
/// PID namespace is always allowed).
struct PidForChildren(OwnedFd);

impl PidForChildren {
    fn join(joined: &plan::Joined) -> Result<PidForChildren> {
        let own = ns::open_file(c"/proc/self/ns/pid").at(
            packed!("keep box's own PID namespace"),
            "open",
            b"/proc/self/ns/pid",
        )?;
        ns::join_file(joined.fd.as_fd(), k::CLONE_NEWPID)
            .map_err(|e| child::join_error(joined, e))?;
        Ok(PidForChildren(own))
    }
}

impl Drop for PidForChildren {
    fn drop(&mut self) {
        let _ = ns::join_file(self.0.as_fd(), k::CLONE_NEWPID);
    }
}

/// Turn a failure to create namespaces into a line that says what to do.
fn namespace_error(call: &'static str, errno: Errno, plan: &Plan) -> Error {
    let base = Error::sys(packed!("create the namespaces"), call, b"", errno);
    let wanted = plan.config.namespaces;
    match errno {
        Errno::INVAL => match missing_namespace(wanted.0) {
            Some(ns) => bad!("create the namespaces: {}: Invalid argument (the kernel has no {} namespace: it was built without {}; /proc/self/ns/{} is missing)", call, ns.name, ns.config, ns.proc_name),
            None => base,
        },
        Errno::NOMEM if plan.joined(k::CLONE_NEWPID).is_some() => base.hint(
            packed!("the PID namespace joined lost its PID 1 and takes no new process"),
        ),
        Errno::PERM if plan.id_maps.is_some() => base.hint(ns::userns_hint(errno)),
        Errno::PERM => base.hint(packed!("creating namespaces needs root; run as root, or add --map-root")),
        Errno::NOSPC | Errno::USERS => base.hint(
            packed!("a namespace limit was reached: see sysctl user.max_user_namespaces and the other user.max_*_namespaces"),
        ),
        _ => base,
    }
}

/// Kill and reap a child that box will not use after all.
pub fn abandon(container: &Container) {
    let _ = process::send_signal(
        container.pid,
        container.pidfd.as_ref().map(|f| f.as_fd()),
        SIGKILL,
    );
    let _ = process::reap(container.pid);
}

/// Forward signals to the container until its init exits; return its exit
/// status (the code, or 128+N when killed by signal N).
pub fn wait(container: &Container) -> u8 {
    let pidfd = container.pidfd.as_ref().map(|f| f.as_fd());
    match process::wait_forwarding(container.pid, pidfd, &watched_signals()) {
        Ok(status) => process::exit_code(&status),
        // Not our child any more (reaped elsewhere): nothing to wait for.
        Err(_) => crate::error::EXIT_BOX,
    }
}
