//! box-init as the board's PID 1 (DESIGN.md section 4): mount the kernel
//! filesystems, set up the console, load the board's kernel modules, arm
//! the watchdog, hand over to a real root if one is asked for, run
//! /etc/box/rc, start and supervise the containers of /etc/box/*.box, reap
//! every orphan, and on a request (or when nothing is left to run) stop
//! everything and power off or reboot.
//!
//! PID 1 never exits: every error is logged and the boot goes on; a boot
//! fault that leaves nothing to go on with ends in the rescue shell or a
//! delayed reboot (shutdown.rs).

mod cgroup;
pub mod cmdline;
pub mod control;
pub mod log;
mod modules;
mod root;
mod services;
mod shutdown;
mod watchdog;

use core::ffi::CStr;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::MountFlags;
use rustix::process::{Pid, Signal};
use rustix::system::RebootCommand;

use crate::log;
use crate::sys::entry::Args;
use crate::sys::exec::CStrArray;
use crate::sys::process;
use crate::sys::signal::{self, SYNCHRONOUS, SigSet};
use crate::sys::{clone, exec, fd};
use crate::text::{Bytes, CPath};
pub use cmdline::Cmdline;
use control::{Event, Waits};
pub use log::Log;
pub use shutdown::has_children;
use shutdown::shutdown;

/// Why box-init is shutting down, and what reboot(2) should do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shutdown {
    PowerOff,
    Reboot,
    Halt,
}

impl Shutdown {
    /// The busybox init signals: SIGUSR2 power off, SIGTERM and SIGINT
    /// (ctrl-alt-del) reboot, SIGUSR1 halt.
    pub fn from_signal(signal: i32) -> Option<Shutdown> {
        match signal {
            s if s == Signal::USR2.as_raw() => Some(Shutdown::PowerOff),
            s if s == Signal::TERM.as_raw() || s == Signal::INT.as_raw() => Some(Shutdown::Reboot),
            s if s == Signal::USR1.as_raw() => Some(Shutdown::Halt),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Shutdown::PowerOff => "power off",
            Shutdown::Reboot => "reboot",
            Shutdown::Halt => "halt",
        }
    }
}

/// A filesystem box-init mounts at boot, unless something is mounted there.
struct BootMount {
    target: &'static CStr,
    fstype: &'static CStr,
    flags: MountFlags,
    data: Option<&'static CStr>,
}

const NOSUID_NODEV_NOEXEC: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

/// The kernel filesystems every program expects, in mount order (parents
/// first). devtmpfs is not mounted by the kernel for an initramfs.
const BOOT_MOUNTS: &[BootMount] = &[
    BootMount {
        target: c"/proc",
        fstype: c"proc",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    },
    BootMount {
        target: c"/sys",
        fstype: c"sysfs",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    },
    BootMount {
        target: c"/dev",
        fstype: c"devtmpfs",
        flags: MountFlags::NOSUID,
        data: Some(c"mode=0755"),
    },
    BootMount {
        target: c"/dev/pts",
        fstype: c"devpts",
        flags: MountFlags::NOSUID.union(MountFlags::NOEXEC),
        data: Some(c"mode=0620,ptmxmode=0666"),
    },
    BootMount {
        target: c"/dev/shm",
        fstype: c"tmpfs",
        flags: MountFlags::NOSUID.union(MountFlags::NODEV),
        data: Some(c"mode=1777"),
    },
    // /run/box holds the state of named containers.
    BootMount {
        target: c"/run",
        fstype: c"tmpfs",
        flags: MountFlags::NOSUID.union(MountFlags::NODEV),
        data: Some(c"mode=0755"),
    },
];

/// The board's init. Never returns.
pub fn main(args: Args) -> ! {
    let start_ns = log::monotonic_ns();
    // Every signal is taken by the supervision loop; faults stay fatal.
    let all = SigSet::all_but(SYNCHRONOUS);
    signal::block_signals(&all);

    // box-init runs from a sealed copy of box only when it re-executed
    // itself so, once its specs were read (services.rs): the boot before
    // them (modules, the handover, rc) is done, and the copy goes on from
    // there. The mounts are found in place; the watchdog, closed by
    // execve, is opened again.
    let resumed = crate::sys::exe::runs_sealed(args);
    let mut early = Log::early(start_ns);
    let mut failures: heapless::Vec<(&'static CStr, Errno), 8> = heapless::Vec::new();
    for m in BOOT_MOUNTS {
        if let Err(e) = mount_at_boot(m) {
            let _ = failures.push((m.target, e));
        }
    }
    setup_console(&mut early);
    let mut log = Log::open(start_ns);
    let cmdline = Cmdline::read();
    if !resumed {
        boot(&mut log, &cmdline, &failures);
    }
    let mut waits = Waits::new(all, watchdog::Watchdog::open(&mut log, &cmdline));
    if !resumed {
        if cmdline.root_request().is_some() && root::on_initramfs() {
            root::hand_over(&mut log, &cmdline, &mut waits, args);
            shutdown::fault(&mut log, &cmdline, args, &mut waits)
        }
        if let Some(kind) = run_rc(&mut log, args, &mut waits) {
            shutdown(&mut log, kind, &mut waits)
        }
    }

    let services = services::run(&mut log, &cmdline, args, &mut waits, resumed);
    let outcome = match services {
        Some(kind) => kind,
        None if cmdline.shell => {
            log!(
                log,
                "every container has ended: starting /bin/sh on the console (box.shell=1)"
            );
            run_shell(&mut log, args, &mut waits, Shutdown::PowerOff)
        }
        None => {
            log!(log, "every container has ended and nothing else runs");
            Shutdown::PowerOff
        }
    };
    shutdown(&mut log, outcome, &mut waits)
}

/// The first run's log of the boot so far, and its modules (drivers first:
/// the root's disk and filesystem, the watchdog).
fn boot(log: &mut Log, cmdline: &Cmdline, failures: &[(&'static CStr, Errno)]) {
    log!(
        log,
        "starting (box {}) (+{})",
        env!("CARGO_PKG_VERSION"),
        log.elapsed()
    );
    for &(target, errno) in failures {
        mount_failed(log, target, errno);
    }
    // Ctrl-Alt-Del then sends SIGINT to PID 1 instead of an instant reboot.
    let _ = rustix::system::reboot(RebootCommand::CadOff);
    for word in cmdline.unusable() {
        log!(
            log,
            "kernel command line: {}: not a number of seconds, ignored",
            Bytes(word)
        );
    }
    modules::load(log, cmdline);
}

/// The line of a boot mount that failed.
fn mount_failed(log: &mut Log, target: &CStr, errno: Errno) {
    log!(
        log,
        "mount {}: {}",
        Bytes(target.to_bytes()),
        crate::error::ErrnoText(errno)
    );
}

fn mount_at_boot(m: &BootMount) -> Result<(), Errno> {
    let _ = rustix::fs::mkdir(m.target, Mode::from_raw_mode(0o755));
    if is_mount_point(m.target) {
        return Ok(());
    }
    rustix::mount::mount(m.fstype, m.target, m.fstype, m.flags, m.data)
}

/// Whether something is mounted at `path` (its device differs from its
/// parent's).
pub fn is_mount_point(path: &CStr) -> bool {
    let Some(parent) = CPath::from_parts(&[path.to_bytes(), b"/.."]) else {
        return false;
    };
    match (rustix::fs::stat(path), rustix::fs::stat(parent.as_cstr())) {
        (Ok(a), Ok(b)) => a.st_dev != b.st_dev,
        _ => false,
    }
}

/// Standard descriptors on /dev/console (the kernel gives init the console
/// only when the initramfs has a /dev/console node).
fn setup_console(log: &mut Log) {
    let console = match rustix::fs::open(
        c"/dev/console",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            log!(log, "open /dev/console: {}", crate::error::ErrnoText(e));
            return;
        }
    };
    let stdout_is_console = rustix::fs::fstat(fd::stdout())
        .ok()
        .zip(rustix::fs::fstat(&console).ok())
        .is_some_and(|(a, b)| a.st_rdev == b.st_rdev && a.st_mode == b.st_mode);
    if !stdout_is_console {
        for target in fd::StdFd::ALL {
            let _ = fd::dup_onto(rustix::fd::AsFd::as_fd(&console), target);
        }
    }
}

/// /etc/box/rc, when present and executable: run before the containers and
/// waited for (the place for networking, data partitions). A shutdown asked
/// for while it runs is answered at once (its kind is returned).
fn run_rc(log: &mut Log, args: Args, waits: &mut Waits) -> Option<Shutdown> {
    let rc = c"/etc/box/rc";
    if rustix::fs::access(rc, rustix::fs::Access::EXEC_OK).is_err() {
        return None;
    }
    // The hook sees the whole system, cgroups included.
    cgroup::mount(log);
    log!(log, "running /etc/box/rc");
    let pid = match spawn_program(rc, args, false) {
        Ok(pid) => pid,
        Err(e) => {
            log!(log, "/etc/box/rc: {e}");
            return None;
        }
    };
    match wait_child(waits, pid) {
        Ok(code) => {
            log!(log, "/etc/box/rc {code}");
            None
        }
        Err(kind) => Some(kind),
    }
}

/// Wait for the child `pid` to exit, reaping every child meanwhile: how it
/// ended, or the shutdown asked for before.
fn wait_child(waits: &mut Waits, pid: Pid) -> Result<process::Ended, Shutdown> {
    loop {
        match waits.next(None) {
            Event::Child => {
                if let Some(ended) = process::reap_all(pid) {
                    return Ok(ended);
                }
            }
            Event::Shutdown(kind) => return Err(kind),
            Event::Nothing => {}
        }
    }
}

/// Fork and exec `program` with box-init's environment, stdio on the
/// console. With `terminal`, in a new session with the console as its
/// controlling terminal (a shell with job control).
fn spawn_program(
    program: &'static CStr,
    args: Args,
    terminal: bool,
) -> Result<Pid, crate::error::Error> {
    let envp = args.envp();
    let argv = CStrArray::<2>::of([program]).unwrap_or_default();
    let spawned = clone::spawn(0, None, Signal::CHILD.as_raw() as u64, || {
        if terminal {
            let _ = rustix::process::setsid();
            let _ = rustix::process::ioctl_tiocsctty(fd::stdin());
        }
        signal::reset_signals();
        let errno = exec::execve(program, argv.argv(), envp);
        crate::errln!(
            "box-init: execve({}): {}",
            Bytes(program.to_bytes()),
            crate::error::ErrnoText(errno)
        );
        exec::exit_now(127)
    });
    match spawned {
        Ok(s) => Pid::from_raw(s.pid).ok_or_else(|| crate::bad!("bad PID")),
        Err((call, e)) => Err(crate::error::Error::sys(
            packed!("start"),
            call,
            program.to_bytes(),
            e,
        )),
    }
}

/// `box.shell=1`: /bin/sh on the console; when it exits, `when_done`. A
/// shutdown asked for meanwhile is honoured.
pub fn run_shell(log: &mut Log, args: Args, waits: &mut Waits, when_done: Shutdown) -> Shutdown {
    let pid = match spawn_program(c"/bin/sh", args, true) {
        Ok(pid) => pid,
        Err(e) => {
            log!(log, "/bin/sh: {e}");
            return when_done;
        }
    };
    match wait_child(waits, pid) {
        Ok(_) => {
            log!(log, "the shell exited");
            when_done
        }
        Err(kind) => kind,
    }
}
