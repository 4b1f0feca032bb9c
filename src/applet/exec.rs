//! `box exec NAME [--] CMD [ARG…]`: run a command in a running container.
//!
//! It enters every namespace in which the container differs from box (one
//! setns on a pidfd, Linux 5.8+, else one file at a time, user namespace
//! first), the container's cgroups, its root and working directory; makes
//! itself non-dumpable and takes the container's seccomp filter (so that
//! the child is unreachable from its first instruction, see [`seal`]);
//! then, in a child (a PID namespace only takes children), it takes the
//! container's identity and environment, the default capabilities and
//! no_new_privs, and executes CMD. Exit statuses are `box run`'s.

use rustix::fd::{AsFd, OwnedFd};
use rustix::pipe::PipeFlags;
use rustix::process::{Pid, Signal};

use crate::args::CommandLine;
use crate::bad;
use crate::container::child;
use crate::container::enter::{
    differing_namespaces, enter_root, exec_command, for_each_other_cgroup, join_namespaces,
    make_undumpable, open_proc_dir, proc_file,
};
use crate::container::tty::{ChildStdio, Relay};
use crate::error::{Context, Error, Result};
use crate::options::{Command, Opt, Usage};
use crate::out::finish;
use crate::state::State;
use crate::sys::entry::Args;
use crate::sys::exec::CStrArray;
use crate::sys::{clone, exec, fd, process, signal};
use crate::text::Text;

/// Most environment entries taken from the container's init.
const MAX_INIT_ENV: usize = 64;

pub fn main(args: Args) -> u8 {
    finish(&EXEC, exec(args))
}

/// What box exec's options do.
#[derive(Clone, Copy, Debug)]
pub enum ExecOption {
    Tty,
}

pub const EXEC: Command<ExecOption> = Command {
    usage: Usage {
        name: "box exec",
        synopsis: &["[-t] NAME [--] CMD [ARG…]"],
        about: packed!(
            "Runs CMD in running container NAME: in its namespaces, cgroups, root and\n\
                working directory, as its init's user, with its capabilities, seccomp\n\
                filter and environment."
        ),
        notes: packed!(
            "Exit status: CMD's own; 128+N if killed by signal N; 125 if box failed,\n\
                126 if CMD cannot be executed, 127 if it was not found."
        ),
    },
    options: &[Opt::flag(
        "tty",
        packed!("a pty inside, relayed to this terminal"),
        ExecOption::Tty,
    )
    .short(b't')],
};

/// What the container's init looks like, read from /proc before joining.
struct Target {
    pid: Pid,
    pidfd: Option<OwnedFd>,
    /// Namespace types in which the container differs from us.
    flags: u32,
    /// Its /proc/PID, for its identity (see [`init_identity`]).
    proc: OwnedFd,
    root: OwnedFd,
    cwd: OwnedFd,
    /// The init's environment, NUL-separated, as in /proc/PID/environ.
    environ: [u8; 8192],
    environ_len: usize,
}

fn exec(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &EXEC);
    let mut tty = false;
    while let Some(found) = line.next()? {
        match found.action {
            ExecOption::Tty => tty = true,
        }
    }
    let rest = line.rest();
    let Some(name) = rest.get(0) else {
        return Err(EXEC.usage.error());
    };
    let mut command = rest.tail(1);
    if command.bytes(0) == b"--" {
        command = command.tail(1);
    }
    if command.is_empty() {
        return Err(bad!("no command given: box exec NAME [--] CMD [ARG…]"));
    }
    let target = find(name.to_bytes())?;
    join(&target)?;
    // Read once joined: the filter below depends on it.
    let init = init_identity(&target.proc, target.pid)?;

    // The command runs in a child: only children enter the PID (and time)
    // namespace, and box stays outside to forward signals and report.
    signal::block_signals(&crate::container::watched_signals());
    let (relay, stdio) = Relay::prepare(tty)?;
    let mut stdio = Some(stdio);
    let (environment, path) = environment(&target);
    let envp = environment.envp();
    let (report_read, report_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
        packed!("create the report pipe"),
        "pipe2",
        b"",
    )?;
    seal(&init)?;
    let mut channel = Some((report_read, report_write));
    let spawned = clone::spawn(0, None, Signal::CHILD.as_raw() as u64, || {
        let Some((read, write)) = channel.take() else {
            exec::exit_now(crate::error::EXIT_BOX)
        };
        drop(read);
        let entered = enter(write.as_fd(), &init).and_then(|()| connect_stdio(stdio.take()));
        let error = match entered {
            Ok(()) => exec_command(
                command.get(0).unwrap_or(c""),
                command.argv(),
                envp,
                path.as_bytes(),
            ),
            Err(e) => e,
        };
        child::send_report(write.as_fd(), &error);
        exec::exit_now(error.code)
    })
    .map_err(|(call, e)| Error::sys(packed!("start the command"), call, b"", e))?;
    let (report_read, report_write) = channel.take().ok_or_else(|| bad!("report pipe lost"))?;
    drop(report_write);
    // The child has its own copies: box keeps only its ends (tty::Relay).
    drop(stdio.take());
    let pid = Pid::from_raw(spawned.pid).ok_or_else(|| bad!("bad PID"))?;
    let started = crate::container::Container {
        pid,
        pidfd: spawned.pidfd,
        cgroup: None,
    };
    let report =
        child::Report::read(report_read.as_fd()).unwrap_or_else(|_| child::Report::empty());
    if !report.is_empty() {
        let _ = process::reap(pid);
        return Err(report.error("the command"));
    }
    match relay {
        Some(relay) => relay.run(&started),
        None => Ok(crate::container::wait(&started)),
    }
}

/// In the child, after `enter`: the command's 0, 1, 2 (src/container/tty.rs).
fn connect_stdio(stdio: Option<ChildStdio>) -> Result<()> {
    match stdio {
        Some(stdio) => child::connect_stdio(&stdio),
        None => Ok(()),
    }
}

/// Look the container up and read what joining it needs, before joining
/// anything (afterwards /proc may be the container's).
fn find(name: &[u8]) -> Result<Target> {
    let (_, record, pidfd) = State::open_running(name)?;
    let pid = record.pid.ok_or_else(|| bad!("no pid"))?;
    let raw_pid = pid.as_raw_nonzero().get() as u32;
    let mut target = Target {
        pid,
        pidfd,
        flags: differing_namespaces(raw_pid),
        proc: open_proc_dir(raw_pid, b"")?,
        root: open_proc_dir(raw_pid, b"/root")?,
        cwd: open_proc_dir(raw_pid, b"/cwd")?,
        environ: [0; 8192],
        environ_len: 0,
    };
    let env_path = proc_file(raw_pid, b"/environ");
    target.environ_len = crate::sys::fs::read_into(env_path.as_cstr(), &mut target.environ).at(
        packed!("read the container's environment"),
        "read",
        env_path.as_bytes(),
    )?;
    Ok(target)
}

/// Join the container's cgroups, namespaces, root and working directory.
fn join(target: &Target) -> Result<()> {
    for_each_other_cgroup(target.pid, |procs| {
        crate::sys::fs::write_control(procs.as_cstr(), b"0").at(
            packed!("join the container's cgroup"),
            "write",
            procs.as_bytes(),
        )
    })?;
    join_namespaces(target.pid, target.pidfd.as_ref(), target.flags)?;
    enter_root(&target.root)?;
    rustix::process::fchdir(&target.cwd).at(
        packed!("enter the container's working directory"),
        "fchdir",
        b"",
    )?;
    Ok(())
}

/// The container's environment (its first MAX_INIT_ENV entries), and its PATH.
fn environment(target: &Target) -> (CStrArray<'_, { MAX_INIT_ENV + 1 }>, Text<512>) {
    let mut path = Text::<512>::new();
    let mut environment = CStrArray::new();
    // /proc/PID/environ is NUL-separated: each entry is already a C string
    // in `target.environ`, which outlives the exec. An entry cut short by
    // the end of the buffer has no NUL and is left out.
    let mut rest = &target.environ[..target.environ_len];
    while let Ok(entry) = core::ffi::CStr::from_bytes_until_nul(rest) {
        rest = &rest[entry.to_bytes_with_nul().len()..];
        if let Some(value) = entry.to_bytes().strip_prefix(b"PATH=") {
            path.push(value);
        }
        if !entry.is_empty() {
            let _ = environment.push(entry);
        }
    }
    if path.is_empty() {
        path.push(crate::container::plan::DEFAULT_PATH);
    }
    (environment, path)
}

/// What the command takes over from the container's init, read from its
/// /proc/PID on the host's procfs, opened after joining (ids translated
/// into its user namespace, as the opener's credentials are then there).
/// Never a path in the container's root: the init may chroot into a
/// directory of its own (CAP_SYS_CHROOT) whose /proc/1/status, a file it
/// wrote, would say `Seccomp: 0` and every capability.
struct InitIdentity {
    uid: u32,
    gid: u32,
    /// Its bounding set: the capabilities the container was given.
    caps: rustix::thread::CapabilitySet,
    /// Under box's seccomp filter (`Seccomp: 2`).
    seccomp: bool,
    setgroups_denied: bool,
}

fn init_identity(proc: &OwnedFd, pid: Pid) -> Result<InitIdentity> {
    let mut status = [0u8; 4096];
    let n = crate::sys::fs::read_at(proc.as_fd(), c"status", &mut status).at(
        packed!("read the container's identity"),
        "read",
        proc_file(pid.as_raw_nonzero().get() as u32, b"/status").as_bytes(),
    )?;
    let field = |key: &[u8]| -> &[u8] {
        status[..n]
            .split(|&b| b == b'\n')
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| {
                rest.split(|b| b.is_ascii_whitespace())
                    .find(|w| !w.is_empty())
            })
            .unwrap_or(b"")
    };
    let number = |key: &[u8]| crate::text::parse_u32(field(key)).unwrap_or(0);
    // Hexadecimal (16 digits); anything else, none.
    let caps = field(b"CapBnd:")
        .iter()
        .try_fold(0u64, |n, &b| {
            Some(n.checked_mul(16)? | u64::from(char::from(b).to_digit(16)?))
        })
        .unwrap_or(0);
    let mut setgroups = [0u8; 16];
    let m = crate::sys::fs::read_at(proc.as_fd(), c"setgroups", &mut setgroups).unwrap_or(0);
    Ok(InitIdentity {
        uid: number(b"Uid:"),
        gid: number(b"Gid:"),
        caps: rustix::thread::CapabilitySet::from_bits_retain(caps),
        seccomp: number(b"Seccomp:") == 2,
        setgroups_denied: setgroups[..m].starts_with(b"deny"),
    })
}

/// Make the child unreachable from the container before it exists. It is
/// born in the container's PID namespace, where any process may try to
/// ptrace it (its PID is ns_last_pid + 1) or open its /proc/PID files,
/// and it takes the container's identity and capabilities before it
/// executes the command; were it dumpable then, and its filter still to
/// come, a tracer of the container could skip seccomp(2) and let the
/// command run unfiltered, and read /proc/PID/environ (the caller's
/// environment). So, here in box exec, which is in the host's PID
/// namespace and out of the container's sight:
/// - not dumpable (prctl(PR_SET_DUMPABLE), which clone passes on): ptrace
///   and /proc/PID/{environ,exe,mem,fd} of a non-dumpable process need
///   CAP_SYS_PTRACE (ptrace(2), "Ptrace access mode checking"), which a
///   container does not have. execve makes the command dumpable again.
/// - the container's seccomp filter (built for its capabilities, its
///   init's bounding set), so that the child has it from its first
///   instruction. seccomp(2) needs no_new_privs, harmless here: this
///   process never executes anything. Every call box exec makes from here
///   on is one the filter allows: clone3 gets ENOSYS and spawn falls back
///   to clone, without namespace flags; the child then makes prctl,
///   poll, setsid, close_range, read, setgroups, setresgid, setresuid,
///   capset, openat2 (the container's /dev/null, when the caller's is the
///   host's), rt_sigaction, rt_sigprocmask, execve and write; the parent
///   read, close, waitid, rt_sigtimedwait, pidfd_send_signal or kill, and
///   write.
fn seal(init: &InitIdentity) -> Result<()> {
    make_undumpable()?;
    if init.seccomp {
        let filter = crate::seccomp::for_capabilities(init.caps)
            .ok_or_else(|| bad!("no seccomp filter for this architecture"))?;
        rustix::thread::set_no_new_privs(true).at(
            packed!("set no_new_privs"),
            "prctl(PR_SET_NO_NEW_PRIVS)",
            b"",
        )?;
        crate::seccomp::install(&filter).at(
            packed!("install the seccomp filter"),
            "seccomp",
            b"",
        )?;
    }
    Ok(())
}

/// In the child: the container's identity, capabilities and signal state.
fn enter(report: rustix::fd::BorrowedFd<'_>, init: &InitIdentity) -> Result<()> {
    child::die_with_parent(report)?;
    rustix::process::setsid().at(packed!("start a new session"), "setsid", b"")?;
    fd::cloexec_from(3).at(
        packed!("close inherited descriptors"),
        "close_range",
        b"3..",
    )?;
    child::drop_privileges_to(init.uid, init.gid, init.setgroups_denied, init.caps, &[])?;
    child::die_with_parent(report)?;
    signal::reset_signals();
    Ok(())
}
