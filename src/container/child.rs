//! The container process between `clone` and `execve`. It runs on a copy of
//! the parent's memory and must not allocate or take locks: everything it
//! needs is in the [`Plan`], and it only makes raw syscalls. A failure is
//! sent to the parent over the CLOEXEC report pipe as one formatted line.

use core::fmt::Write;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::Signal;
use rustix::thread::{Gid, Uid};

use crate::cgroup::ContainerCgroup;
use crate::container::plan::Plan;
use crate::container::rootfs;
use crate::container::tty::{ChildStdio, SysResult};
use crate::error::{Context, EXIT_BOX, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, Error, Result};
use crate::sys::exec::CStrArray;
use crate::sys::timing::{self, Side, Step};
use crate::sys::{caps, exec, process, pty, signal};
use crate::text::{CPath, Text};

use linux_raw_sys::general as k;

/// Most supplementary groups a container's process gets (an OCI
/// config's `additionalGids`).
pub const MAX_GROUPS: usize = 32;

/// Size of the failure line sent to the parent.
pub const REPORT_MAX: usize = 512;

/// Run the container side: set up, then exec the command. Never returns.
pub fn run(
    plan: &Plan,
    join: Option<&ContainerCgroup>,
    report: OwnedFd,
    report_read: OwnedFd,
    sync: Option<OwnedFd>,
    init_pid: Option<OwnedFd>,
    stdio: &ChildStdio,
) -> ! {
    timing::restart();
    // Only box may hold the read end, so its death shows on ours as POLLERR.
    drop(report_read);
    let mut report = Some(report);
    let report_fd = report.as_ref().map(|r| r.as_fd());
    let error = match prepare(plan, join, report_fd, sync, init_pid, stdio) {
        Ok(()) => {
            if let Some(created) = &plan.created {
                // Set up: closing the report pipe lets `create` return,
                // then the init waits for `start`.
                report = None;
                wait_for_start(created.exec_fifo);
            }
            match confine(plan) {
                Ok(()) => {
                    timing::mark(Step::Seccomp);
                    timing::print(Side::Child);
                    exec(plan)
                }
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    match &report {
        Some(report) => send_report(report.as_fd(), &error),
        // After `create` returned, nobody reads the report pipe: the
        // container's own standard error (the engine's log) says it.
        None => crate::errln!("box-oci: {error}"),
    }
    exec::exit_now(error.code)
}

/// Block until `start` writes a byte to the exec fifo. Any other end
/// (the read interrupted for good, EOF) leaves without exec: the
/// container is then stopped.
fn wait_for_start(exec_fifo: BorrowedFd<'_>) {
    let mut byte = [0u8; 1];
    loop {
        match rustix::io::read(exec_fifo, &mut byte) {
            Ok(1) => return,
            Err(Errno::INTR) => continue,
            _ => exec::exit_now(EXIT_BOX),
        }
    }
}

/// Nothing outside the container's root may be executed from here on
/// (src/sys/landlock.rs): box's own file among them.
fn confine_exec() -> Result<()> {
    let step = packed!("confine execution to the container's root");
    let root = rustix::fs::open(
        c"/",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .at(step, "open", b"/")?;
    crate::sys::landlock::confine_exec_beneath(root.as_fd())
        .map_err(|(call, errno)| Error::sys(step, call, b"/", errno))
}

/// The seccomp filter, last: it refuses calls the setup makes (mount,
/// pivot_root, unshare), and seccomp(2) needs the no_new_privs that
/// drop_privileges set. Only execve follows, which it allows.
fn confine(plan: &Plan) -> Result<()> {
    if plan.confine_exec {
        confine_exec()?;
        timing::mark(Step::Landlock);
    }
    if let Some(program) = plan.seccomp_program {
        crate::sys::seccomp::set_filter(program).at(
            packed!("install config.json's seccomp profile"),
            "seccomp",
            b"",
        )?;
    } else if let Some(filter) = &plan.seccomp {
        crate::seccomp::install(filter)
            .at(packed!("install the seccomp filter"), "seccomp", b"")
            .map_err(|e| e.hint(packed!("--seccomp unconfined runs without it")))?;
    }
    Ok(())
}

fn prepare(
    plan: &Plan,
    join: Option<&ContainerCgroup>,
    report: Option<BorrowedFd<'_>>,
    sync: Option<OwnedFd>,
    init_pid: Option<OwnedFd>,
    stdio: &ChildStdio,
) -> Result<()> {
    // Die with box, and check box is still there: a box that died before
    // the prctl would never send the signal. Not for an OCI `create`,
    // whose init outlives the box process that made it (the engine, a
    // subreaper, inherits it).
    let report = report.filter(|_| plan.created.is_none());
    if let Some(report) = report {
        die_with_parent(report)?;
    }

    // Into the container's cgroup before anything else runs here (when
    // clone3 could not put us there), then the cgroup namespace, rooted at
    // that group.
    if let Some(cgroup) = join {
        cgroup.join_self().map_err(|(e, path)| {
            Error::sys(
                packed!("join the container's cgroup"),
                "write",
                path.as_bytes(),
                e,
            )
        })?;
        // (In a joined user namespace, enter_namespaces makes it.)
        if plan.config.namespaces.has(k::CLONE_NEWCGROUP)
            && !plan.unshare_after_join.has(k::CLONE_NEWCGROUP)
        {
            crate::sys::process::unshare(rustix::thread::UnshareFlags::NEWCGROUP).at(
                packed!("create the cgroup namespace"),
                "unshare",
                b"",
            )?;
        }
        timing::mark(Step::Join);
    }

    // The namespaces joined by path, then those made in a joined user
    // namespace: before the mounts and the identity, which they change.
    enter_namespaces(plan, report, init_pid)?;
    timing::mark(Step::Namespaces);

    // In a new user namespace, wait until box has written our uid and gid
    // maps: until then we are "nobody" and cannot create files or setuid.
    if let Some(sync) = sync {
        let mut byte = [0u8; 1];
        match rustix::io::read(&sync, &mut byte) {
            Ok(1) => {}
            // box gave up (and said why); leave quietly.
            _ => exec::exit_now(EXIT_BOX),
        }
        // Become root of the new namespace: our credentials are still the
        // caller's, which a --uidmap range may not cover (files we create
        // would then fail with EOVERFLOW).
        let root_gid = Gid::from_raw(0);
        let root_uid = Uid::from_raw(0);
        rustix::thread::set_thread_res_gid(root_gid, root_gid, root_gid).at(
            packed!("become root in the user namespace"),
            "setresgid",
            b"0",
        )?;
        rustix::thread::set_thread_res_uid(root_uid, root_uid, root_uid).at(
            packed!("become root in the user namespace"),
            "setresuid",
            b"0",
        )?;
    }

    // A new session: no controlling terminal, so the command cannot push
    // keystrokes into the caller's terminal (TIOCSTI), and terminal signals
    // reach it only through box, which forwards them.
    rustix::process::setsid().at(packed!("start a new session"), "setsid", b"")?;
    timing::mark(Step::Session);

    // Mounts and the root switch (container/rootfs.rs).
    rootfs::build(plan)?;

    // A new UTS namespace gets the hostname (by default the name); a
    // joined one only a hostname given, as runc sets it, which every
    // process there then sees.
    let joined_uts = plan.joined(k::CLONE_NEWUTS).is_some();
    if plan.config.namespaces.has(k::CLONE_NEWUTS) || (joined_uts && plan.config.hostname.is_some())
    {
        rustix::system::sethostname(plan.hostname.as_bytes()).at(
            packed!("set the hostname"),
            "sethostname",
            plan.hostname.as_bytes(),
        )?;
        timing::mark(Step::Hostname);
    }
    // A new network namespace has only a loopback interface, and it is down.
    // A joined one is left as its owner set it up.
    if plan.config.namespaces.has(k::CLONE_NEWNET) {
        crate::sys::net::interface_up(b"lo").at(
            packed!("bring up loopback"),
            "ioctl(SIOCSIFFLAGS)",
            b"lo",
        )?;
        timing::mark(Step::Loopback);
    }

    rustix::process::chdir(plan.workdir.as_cstr())
        .at(
            packed!("enter the working directory"),
            "chdir",
            plan.workdir.as_bytes(),
        )
        .map_err(|e| e.hint(packed!("--workdir must exist inside the rootfs")))?;
    timing::mark(Step::Workdir);

    close_inherited_descriptors()?;
    timing::mark(Step::CloseFds);
    drop_privileges(plan)?;

    // Changing credentials clears the parent-death signal: set it again.
    if let Some(report) = report {
        die_with_parent(report)?;
    }
    timing::mark(Step::Identity);

    // The command's 0, 1, 2: after the identity change, so that a pty is
    // the command's user's (see connect_stdio).
    connect_stdio(stdio)?;
    timing::mark(Step::Stdio);

    // A clean signal state for the command: default dispositions (the
    // caller may have ignored SIGINT or SIGPIPE) and nothing blocked (box
    // blocked the signals it forwards).
    signal::reset_signals();
    timing::mark(Step::Signals);
    Ok(())
}

/// Join the namespaces of `--ns TYPE=PATH` (setns on the files box opened
/// before clone), user first: the others are then joined, and the new ones
/// made, with the capabilities it gives (setns(2)), and owned by it. The
/// PID namespace is not among them: box joined it for the clone already,
/// so this process is in it. Joining a user namespace, clone made no
/// namespace: this process makes them now, inside it (unshare), and a new
/// PID namespace takes a fork, as unshare(CLONE_NEWPID) only places later
/// children there: the fork becomes the container's init, as box's child
/// (CLONE_PARENT), its PID sent on `init_pid`, and this process exits.
fn enter_namespaces(
    plan: &Plan,
    report: Option<BorrowedFd<'_>>,
    init_pid: Option<OwnedFd>,
) -> Result<()> {
    // The caller's supplementary groups must not follow into the
    // container, and a user namespace may deny setgroups (as `unshare -r`
    // leaves it): drop them while box's own user namespace still allows it.
    if plan.joined(k::CLONE_NEWUSER).is_some() {
        rustix::thread::set_thread_groups(&[]).at(
            packed!("drop the supplementary groups"),
            "setgroups",
            b"",
        )?;
    }
    for joined in &plan.joins {
        if joined.flag() != k::CLONE_NEWPID {
            crate::sys::ns::join_file(joined.fd.as_fd(), joined.flag())
                .map_err(|e| join_error(joined, e))?;
        }
    }
    let made = plan.unshare_after_join;
    if made.0 == 0 {
        return Ok(());
    }
    process::unshare(rustix::thread::UnshareFlags::from_bits_retain(made.0))
        .at(
            packed!("create the namespaces in the joined user namespace"),
            "unshare",
            b"",
        )
        .map_err(|e| {
            e.hint(packed!(
                "the user namespace joined must allow what box makes in it"
            ))
        })?;
    if !made.has(k::CLONE_NEWPID) {
        return Ok(());
    }
    let pid = crate::sys::clone::fork_sibling().at(
        packed!("start the container's init in its PID namespace"),
        "clone3(CLONE_PARENT)",
        b"",
    )?;
    if pid == 0 {
        // The init: only the child that forked it sends its PID. It is
        // box's child now, and the death signal is not inherited.
        drop(init_pid);
        if let Some(report) = report {
            die_with_parent(report)?;
        }
        return Ok(());
    }
    if let Some(fd) = init_pid {
        crate::out::write_all(&fd, &pid.to_ne_bytes());
    }
    exec::exit_now(0)
}

/// A failed setns of `--ns TYPE=PATH`, with what to do about it.
pub fn join_error(joined: &crate::container::plan::Joined, errno: Errno) -> Error {
    let error = Error::sys(
        packed!("join the namespace"),
        "setns",
        joined.path.as_bytes(),
        errno,
    );
    match errno {
        Errno::PERM if joined.flag() == k::CLONE_NEWUSER => {
            error.hint(packed!("needs CAP_SYS_ADMIN in it: root, or its owner"))
        }
        Errno::PERM => error.hint(packed!(
            "needs CAP_SYS_ADMIN over it: with --ns user=PATH, that user namespace must own it"
        )),
        Errno::INVAL if joined.flag() == k::CLONE_NEWUSER => {
            error.hint(packed!("not box's own user namespace or one above it"))
        }
        Errno::INVAL if joined.flag() == k::CLONE_NEWPID => error.hint(packed!(
            "only box's own PID namespace or one below it can be joined"
        )),
        _ => error,
    }
}

/// Die with box (SIGKILL), and leave now if box is already gone: box
/// holds the only read end of the report pipe.
pub fn die_with_parent(report: BorrowedFd<'_>) -> Result<()> {
    let box_is_there = process::die_with_parent(Signal::KILL, report).at(
        packed!("tie the container to box"),
        "prctl(PR_SET_PDEATHSIG)",
        b"",
    )?;
    if !box_is_there {
        exec::exit_now(EXIT_BOX);
    }
    Ok(())
}

/// Put the command's descriptors 0, 1, 2 in place (src/container/tty.rs):
/// box's pipes where box's own are terminals, or with `-t` a pty of the
/// container's devpts as the controlling terminal. Runs after setsid (only
/// a session leader without a terminal may take one) and after the
/// identity change: devpts gives a new pty to the opener's fsuid and fsgid,
/// so the command's user owns its terminal, as login(1) arranges. Also used
/// by `box exec`.
pub fn connect_stdio(stdio: &ChildStdio) -> Result<()> {
    connect(stdio).map_err(|(call, e)| {
        let ptmx = pty::CONTAINER_PTMX.to_bytes();
        match stdio {
            ChildStdio::Pty { .. } => Error::sys(packed!("open the container's terminal"), call, ptmx, e)
                .hint(packed!("the container needs a devpts instance of its own on /dev/pts")),
            _ if call == "openat2" => Error::sys(
                packed!("give the command the container's /dev/null for the host's"),
                call,
                b"/dev/null",
                e,
            )
            .hint(packed!("the container's /dev/null must be a node, not reached through a link; or redirect from another file")),
            _ => Error::sys(packed!("connect the command's pipes"), call, b"", e),
        }
    })
}

/// The container's /dev/null, no symlink followed: under box exec the
/// container made it, and a link through /proc/self/fd would reach this
/// process's own descriptors, the host's. Before Linux 5.6 (no openat2):
/// O_NOFOLLOW, which covers the last component.
#[cold]
fn open_null() -> rustix::io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let flags = OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY;
    match rustix::fs::openat2(
        rustix::fs::CWD,
        c"/dev/null",
        flags,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS,
    ) {
        Err(Errno::NOSYS) => {
            rustix::fs::open(c"/dev/null", flags | OFlags::NOFOLLOW, Mode::empty())
        }
        opened => opened,
    }
}

/// For `-t`: open a pty in the container's own devpts (the master from
/// its ptmx, the slave through the master), make the slave the controlling
/// terminal and pass the master to box. Both are closed on return: from
/// then on only the command holds the slave (on 0, 1, 2), only box the
/// master, so each sees the other's end (EIO, hangup) when it goes.
fn connect(stdio: &ChildStdio) -> SysResult<()> {
    let slave;
    let null;
    let fds: [Option<BorrowedFd<'_>>; 3] = match stdio {
        ChildStdio::Inherit => return Ok(()),
        ChildStdio::Pipes(ends, mask) => {
            // The container's own /dev/null for the host's (ChildStdio::Pipes).
            null = match mask {
                0 => None,
                _ => Some(open_null().map_err(|e| ("openat2", e))?),
            };
            [0, 1, 2].map(|n| {
                let own = null.as_ref().filter(|_| mask & 1 << n != 0);
                ends[n].as_ref().or(own).map(|fd| fd.as_fd())
            })
        }
        ChildStdio::Pty { socket, size } => {
            let master = pty::open_master(pty::CONTAINER_PTMX).map_err(|e| ("open", e))?;
            // Before exec, so the command never reads a size of 0x0.
            if let Some(size) = size {
                let _ = rustix::termios::tcsetwinsize(&master, *size);
            }
            slave = pty::open_slave(master.as_fd()).map_err(|e| ("ioctl(TIOCGPTPEER)", e))?;
            pty::make_controlling(slave.as_fd()).map_err(|e| ("ioctl(TIOCSCTTY)", e))?;
            pty::send_fd(socket.as_fd(), master.as_fd()).map_err(|e| ("sendmsg", e))?;
            [Some(slave.as_fd()); 3]
        }
    };
    for (target, fd) in crate::sys::fd::StdFd::ALL.into_iter().zip(fds) {
        if let Some(fd) = fd {
            crate::sys::fd::dup_onto(fd, target).map_err(|e| ("dup2", e))?;
        }
    }
    Ok(())
}

/// Every descriptor above 2 is closed at exec (the report pipe too, which is
/// how the parent learns that exec worked).
fn close_inherited_descriptors() -> Result<()> {
    crate::sys::fd::cloexec_from(3).at(
        packed!("close inherited descriptors"),
        "close_range",
        b"3..",
    )
}

/// The bounding set, the identity, the capability sets, no_new_privs.
fn drop_privileges(plan: &Plan) -> Result<()> {
    // Limits first: raising a hard limit needs CAP_SYS_RESOURCE, which the
    // capability drop below may take away.
    for limit in &plan.config.rlimits {
        let value = rustix::process::Rlimit {
            current: limit.soft,
            maximum: limit.hard,
        };
        rustix::process::setrlimit(limit.resource, value).at(
            packed!("set --rlimit"),
            "setrlimit",
            b"",
        )?;
    }
    // In a joined user namespace the groups went before the join.
    let deny_setgroups = plan.id_maps.as_ref().is_some_and(|m| m.deny_setgroups)
        || (plan.joined(k::CLONE_NEWUSER).is_some() && plan.groups.is_empty());
    drop_privileges_to(plan.uid, plan.gid, deny_setgroups, plan.caps, plan.groups)
}

/// Become `uid`:`gid` with the supplementary `groups` (none unless an
/// OCI config gives some), keeping `keep` of the capabilities (none for a
/// non-root uid), with no_new_privs. `setgroups_denied`: inside a user
/// namespace whose setgroups is denied. Also used by `box exec`.
pub fn drop_privileges_to(
    uid: u32,
    gid: u32,
    setgroups_denied: bool,
    keep: rustix::thread::CapabilitySet,
    groups: &[u32],
) -> Result<()> {
    // Only what box holds itself can be kept (`--cap-add all` means all
    // of those).
    let keep = match rustix::thread::capabilities(None) {
        Ok(current) => keep & current.permitted,
        Err(_) => keep,
    };
    // Bounding set first: dropping from it needs CAP_SETPCAP, which a
    // change to a non-root user takes away.
    caps::drop_bounding(keep).at(packed!("drop capabilities"), "prctl(PR_CAPBSET_DROP)", b"")?;

    // The caller's supplementary groups must not follow into the container.
    // With a user namespace box denied setgroups (as unprivileged mappings
    // require), and only the mapped group exists anyway.
    if !setgroups_denied {
        let mut list = [Gid::from_raw(0); MAX_GROUPS];
        let n = groups.len().min(MAX_GROUPS);
        for (to, &gid) in list.iter_mut().zip(&groups[..n]) {
            *to = Gid::from_raw(gid);
        }
        rustix::thread::set_thread_groups(&list[..n]).at(
            packed!("set the identity"),
            "setgroups",
            b"",
        )?;
    }
    let (gid_raw, uid_raw) = (gid, uid);
    let gid = Gid::from_raw(gid_raw);
    let uid = Uid::from_raw(uid_raw);
    // Raw setresgid/setresuid change only the calling thread; this process
    // has exactly one.
    rustix::thread::set_thread_res_gid(gid, gid, gid)
        .at(packed!("set the identity"), "setresgid", b"")
        .map_err(id_hint)?;
    rustix::thread::set_thread_res_uid(uid, uid, uid)
        .at(packed!("set the identity"), "setresuid", b"")
        .map_err(id_hint)?;
    // A non-root identity has no capabilities left; root keeps the default
    // set (DESIGN.md section 2), nothing inheritable or ambient.
    if uid_raw == 0 {
        caps::set(keep).at(packed!("drop capabilities"), "capset", b"")?;
    }
    // No setuid binary or file capability can raise privileges from here.
    rustix::thread::set_no_new_privs(true).at(
        packed!("set no_new_privs"),
        "prctl(PR_SET_NO_NEW_PRIVS)",
        b"",
    )
}

fn id_hint(e: Error) -> Error {
    if e.errno() == Some(Errno::INVAL) {
        e.hint(packed!(
            "the id is not mapped in the container's user namespace"
        ))
    } else {
        e
    }
}

/// execve the command, searching the container's PATH when the name has no
/// slash. Returns only on failure, with the exit status DESIGN.md gives.
fn exec(plan: &Plan) -> Error {
    let mut envp_storage = CStrArray::new();
    let envp = plan.envp(&mut envp_storage);
    let mut argv_storage = CStrArray::new();
    let argv = plan.argv(&mut argv_storage);
    if let Some(init) = &plan.init {
        let errno = exec::execveat_fd(init.exe.as_fd(), init.argv.argv(), envp);
        let error = Error::sys(
            packed!("start box-init"),
            "execveat",
            b"/proc/self/exe",
            errno,
        );
        return if errno == Errno::NOENT {
            error.hint(packed!("this box is dynamically linked and its loader is not in the rootfs: use a static build (cargo xtask build)"))
        } else {
            error
        };
    }
    let program = plan.program();
    let (errno, path) =
        crate::sys::exec::exec_search(program, argv, envp, plan.search_path.as_bytes());
    if errno == Errno::NOENT && !program.to_bytes().contains(&b'/') {
        let mut text = Text::<200>::new();
        let _ = write!(text, "{}", crate::text::Bytes(plan.search_path.as_bytes()));
        return crate::bad!(
            "start the command: {}: not found in PATH={}",
            crate::text::Bytes(program.to_bytes()),
            text
        )
        .with_code(EXIT_NOT_FOUND);
    }
    let error = exec_error(path.as_bytes(), errno);
    if errno == Errno::ACCESS && plan.confine_exec {
        return error.hint(
            packed!("not executable, or outside the container's root: box lets a container execute only its own files (/proc/self/exe is box's, on the host)"),
        );
    }
    error
}

/// The error for a failed execve, with the exit status DESIGN.md gives:
/// 127 when the file is not there, 126 when it cannot be executed.
pub fn exec_error(path: &[u8], errno: Errno) -> Error {
    let error = Error::sys(packed!("start the command"), "execve", path, errno);
    match errno {
        Errno::NOENT => {
            // The file may exist while its ELF interpreter (the dynamic
            // loader) does not: that is "cannot be executed", not "not found".
            let exists =
                CPath::from_bytes(path).is_some_and(|p| rustix::fs::stat(p.as_cstr()).is_ok());
            if exists {
                error
                    .hint(packed!("the file exists: its interpreter or dynamic loader is missing from the rootfs"))
                    .with_code(EXIT_NOT_EXECUTABLE)
            } else {
                error.with_code(EXIT_NOT_FOUND)
            }
        }
        Errno::NOEXEC => error
            .hint(packed!(
                "not an executable for this machine, or a script without #!"
            ))
            .with_code(EXIT_NOT_EXECUTABLE),
        _ => error.with_code(EXIT_NOT_EXECUTABLE),
    }
}

/// Send the failure to box: exit status, length, text.
pub fn send_report(report: BorrowedFd<'_>, error: &Error) {
    let mut text = Text::<REPORT_MAX>::new();
    let _ = write!(text, "{error}");
    send_line(report, error.code, text.as_bytes());
}

/// Send one report: a status, then a line of at most REPORT_MAX bytes. One
/// write of at most PIPE_BUF bytes, so it arrives whole.
pub fn send_line(report: BorrowedFd<'_>, code: u8, text: &[u8]) {
    let len = text.len().min(REPORT_MAX);
    let mut message = [0u8; REPORT_MAX + 3];
    message[0] = code;
    message[1..3].copy_from_slice(&(len as u16).to_le_bytes());
    message[3..3 + len].copy_from_slice(&text[..len]);
    crate::out::write_all(report, &message[..3 + len]);
}

/// What the parent read from a report pipe: nothing (the child exec'd, or
/// died without a word), or a status and a line.
pub struct Report {
    buf: [u8; REPORT_MAX + 3],
    len: usize,
}

impl Report {
    /// Read until end of file or a whole report.
    pub fn read(fd: BorrowedFd<'_>) -> core::result::Result<Report, Errno> {
        let mut report = Report {
            buf: [0; REPORT_MAX + 3],
            len: 0,
        };
        while report.len < report.buf.len() {
            match rustix::io::read(fd, &mut report.buf[report.len..]) {
                Ok(0) => break,
                Ok(n) => report.len += n,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A report that says nothing (as when the pipe could not be read).
    pub fn empty() -> Report {
        Report {
            buf: [0; REPORT_MAX + 3],
            len: 0,
        }
    }

    /// The status and line, or `None` for a report cut short.
    pub fn decode(&self) -> Option<(u8, &[u8])> {
        let bytes = &self.buf[..self.len];
        let (&code, rest) = bytes.split_first()?;
        let len = u16::from_le_bytes([*rest.first()?, *rest.get(1)?]) as usize;
        Some((code, rest.get(2..2 + len)?))
    }

    /// The reported failure as an error with its exit status.
    pub fn error(&self, what: &str) -> Error {
        match self.decode() {
            Some((code, text)) => crate::bad!("{}", crate::text::Bytes(text)).with_code(code),
            None => crate::bad!("{} failed before exec (short report)", what),
        }
    }
}
