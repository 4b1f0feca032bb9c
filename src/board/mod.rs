//! box-init as the board's PID 1 (DESIGN.md section 4): mount the kernel
//! filesystems, set up the console, run /etc/box/rc, start and supervise the
//! containers of /etc/box/*.box, reap every orphan, and on a signal (or when
//! nothing is left to run) stop everything and power off or reboot.
//!
//! PID 1 never exits: every error is logged and the boot goes on; when
//! nothing can go on it powers off, or starts a shell with `box.shell=1`.

pub mod log;
mod services;

use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use rustix::system::RebootCommand;

use crate::log;
use crate::sys::entry::Args;
use crate::sys::exec::CStrArray;
use crate::sys::process;
use crate::sys::signal::{self, SYNCHRONOUS, SigSet};
use crate::sys::{clone, exec, fd};
use crate::text::{Bytes, CPath, Text};
pub use log::Log;

/// Seconds between SIGTERM and SIGKILL at shutdown.
pub const GRACE_SECONDS: u64 = 5;

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

/// cgroup v2, where each container gets box/NAME. Mounted later than the
/// rest ([`mount_cgroup2`]): the first cgroup2 mount waits for an RCU grace
/// period, some 10 ms, and a first container without limits need not wait.
const CGROUP2_MOUNT: BootMount = BootMount {
    target: c"/sys/fs/cgroup",
    fstype: c"cgroup2",
    flags: NOSUID_NODEV_NOEXEC,
    data: None,
};

/// Mount cgroup2 at /sys/fs/cgroup, once: before the first container that
/// needs a cgroup, before /etc/box/rc, or after the first containers have
/// started, whichever comes first.
pub fn mount_cgroup2(log: &mut Log) {
    static MOUNTED: AtomicBool = AtomicBool::new(false);
    if MOUNTED.swap(true, Ordering::Relaxed) {
        return;
    }
    if let Err(e) = mount_at_boot(&CGROUP2_MOUNT) {
        log!(
            log,
            "mount {}: {}",
            Bytes(CGROUP2_MOUNT.target.to_bytes()),
            crate::error::ErrnoText(e)
        );
    }
}

/// Kernel command line keys of box-init.
#[derive(Default)]
pub struct Cmdline {
    /// `box.spec=NAME`: run only /etc/box/NAME.box.
    pub spec: Option<Text<64>>,
    /// `box.shell=1`: a shell on the console when the specs end.
    pub shell: bool,
    /// `box.switch_root=DEV_OR_DIR`: hand over to a real root.
    pub switch_root: Option<CPath>,
}

impl Cmdline {
    /// Parse /proc/cmdline. Parameters with a dot never reach init's argv or
    /// environment (the kernel keeps them for modules): read them here.
    pub fn read() -> Cmdline {
        let mut buf = [0u8; 4096];
        let Ok(fd) = rustix::fs::open(
            c"/proc/cmdline",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return Cmdline::default();
        };
        let n = rustix::io::read(&fd, &mut buf).unwrap_or(0);
        Cmdline::parse(&buf[..n])
    }

    pub fn parse(text: &[u8]) -> Cmdline {
        let mut cmdline = Cmdline::default();
        for word in text
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            let (key, value) = match word.iter().position(|&b| b == b'=') {
                Some(i) => (&word[..i], trim_quotes(&word[i + 1..])),
                None => (word, &b""[..]),
            };
            match key {
                b"box.spec" => cmdline.spec = Text::try_from_bytes(value),
                b"box.shell" => cmdline.shell = crate::config::parse_flag(value).unwrap_or(false),
                b"box.switch_root" => {
                    cmdline.switch_root = CPath::from_bytes(value).filter(|p| !p.is_empty())
                }
                _ => {}
            }
        }
        cmdline
    }
}

fn trim_quotes(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v)
}

/// The board's init. Never returns.
pub fn main(args: Args) -> ! {
    let start_ns = log::monotonic_ns();
    // Every signal is taken by the supervision loop; faults stay fatal.
    let all = SigSet::all_but(SYNCHRONOUS);
    signal::block_signals(&all);

    let mut early = Log::early(start_ns);
    let mut failures: heapless::Vec<(&'static CStr, Errno), 8> = heapless::Vec::new();
    for m in BOOT_MOUNTS {
        if let Err(e) = mount_at_boot(m) {
            let _ = failures.push((m.target, e));
        }
    }
    // Every container is a fork of this process and runs box's code until
    // it executes its command: re-execute from a sealed copy of box now,
    // once, so that none of them can reach the initramfs's /bin/box
    // (src/sys/exe.rs). /proc is mounted; the steps above find their mounts
    // in place the second time, and nothing before them has an effect
    // that execve would undo or that must not happen twice.
    let sealed = crate::sys::exe::run_sealed(args);
    setup_console(&mut early);
    let mut log = Log::open(start_ns);
    log!(log, "starting (box {})", env!("CARGO_PKG_VERSION"));
    for (target, errno) in failures {
        log!(
            log,
            "mount {}: {}",
            Bytes(target.to_bytes()),
            crate::error::ErrnoText(errno)
        );
    }

    // Ctrl-Alt-Del then sends SIGINT to PID 1 instead of an instant reboot.
    let _ = rustix::system::reboot(RebootCommand::CadOff);

    let cmdline = Cmdline::read();
    if let Some(target) = &cmdline.switch_root {
        hand_over(&mut log, target, args);
    }
    run_rc(&mut log, args);

    let services = match sealed {
        Ok(_) => services::run(&mut log, &cmdline, args, &all),
        Err(e) => {
            log!(
                log,
                "{e}: no container is started, since each could reach the initramfs's box"
            );
            None
        }
    };
    let outcome = match services {
        Some(kind) => kind,
        None if cmdline.shell => {
            log!(
                log,
                "every container has ended: starting /bin/sh on the console (box.shell=1)"
            );
            run_shell(&mut log, args, &all)
        }
        None => {
            log!(log, "every container has ended and nothing else runs");
            Shutdown::PowerOff
        }
    };
    shutdown(&mut log, outcome, &all)
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
fn is_mount_point(path: &CStr) -> bool {
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

/// `box.switch_root=DEV_OR_DIR`: mount a block device at /newroot (or use a
/// directory), then become the new root's /sbin/init. On failure, log and
/// go on booting from the initramfs.
fn hand_over(log: &mut Log, target: &CPath, args: Args) {
    let bytes = target.as_bytes();
    let new_root: CPath = if bytes.starts_with(b"/dev/") {
        let dir = CPath::from_bytes(b"/newroot").unwrap_or_default();
        let _ = rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755));
        if let Err(e) = mount_block_device(target.as_cstr(), dir.as_cstr()) {
            log!(
                log,
                "box.switch_root={target}: mount: {}",
                crate::error::ErrnoText(e)
            );
            return;
        }
        dir
    } else {
        // A directory must be a mount point of its own to be moved over /.
        if !is_mount_point(target.as_cstr()) {
            if let Err(e) = rustix::mount::mount_bind_recursive(target.as_cstr(), target.as_cstr())
            {
                log!(
                    log,
                    "box.switch_root={target}: bind: {}",
                    crate::error::ErrnoText(e)
                );
                return;
            }
        }
        *target
    };
    log!(log, "switching to the root at {new_root} (/sbin/init)");
    let init = c"/sbin/init";
    let argv = CStrArray::<2>::of([init]).unwrap_or_default();
    match crate::sys::switch_root::switch_into(
        new_root.as_cstr(),
        None,
        init,
        argv.argv(),
        args.envp(),
    ) {
        Ok(never) => match never {},
        Err(e) => log!(log, "box.switch_root={target}: {e}"),
    }
}

/// Try every block filesystem type the kernel knows (/proc/filesystems,
/// the lines without "nodev") until one mounts.
fn mount_block_device(device: &CStr, dir: &CStr) -> Result<(), Errno> {
    let fd = rustix::fs::open(
        c"/proc/filesystems",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [0u8; 4096];
    let n = rustix::io::read(&fd, &mut buf)?;
    let mut last = Errno::NODEV;
    for line in buf[..n].split(|&b| b == b'\n') {
        if line.starts_with(b"nodev") || line.is_empty() {
            continue;
        }
        let name = line.trim_ascii();
        let Some(fstype) = CPath::from_bytes(name) else {
            continue;
        };
        match rustix::mount::mount(device, dir, fstype.as_cstr(), MountFlags::empty(), None) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// /etc/box/rc, when present and executable: run before the containers and
/// waited for (the place for module loading, networking, data partitions).
fn run_rc(log: &mut Log, args: Args) {
    let rc = c"/etc/box/rc";
    if rustix::fs::access(rc, rustix::fs::Access::EXEC_OK).is_err() {
        return;
    }
    // The hook sees the whole system, cgroups included.
    mount_cgroup2(log);
    log!(log, "running /etc/box/rc");
    match spawn_program(rc, args, false) {
        Ok(pid) => {
            let code = wait_for(pid);
            log!(log, "/etc/box/rc exited with status {code}");
        }
        Err(e) => log!(log, "/etc/box/rc: {e}"),
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
            "start",
            call,
            program.to_bytes(),
            e,
        )),
    }
}

/// Wait for `pid`, reaping any orphan that exits meanwhile.
fn wait_for(pid: Pid) -> u8 {
    loop {
        match process::reap_any(true) {
            Some((reaped, ended)) if reaped == pid => return ended.code(),
            Some(_) => {}
            None => return crate::error::EXIT_BOX,
        }
    }
}

/// `box.shell=1`: /bin/sh on the console; when it exits, power off. A
/// shutdown signal meanwhile is honoured.
fn run_shell(log: &mut Log, args: Args, all: &SigSet) -> Shutdown {
    let pid = match spawn_program(c"/bin/sh", args, true) {
        Ok(pid) => pid,
        Err(e) => {
            log!(log, "/bin/sh: {e}");
            return Shutdown::PowerOff;
        }
    };
    loop {
        let Ok(Some(info)) = signal::wait_signal(all, None) else {
            continue;
        };
        if info.signal == Signal::CHILD.as_raw() {
            if process::reap_all(pid).is_some() {
                log!(log, "the shell exited");
                return Shutdown::PowerOff;
            }
        } else if let Some(kind) = Shutdown::from_signal(info.signal) {
            return kind;
        }
    }
}

/// Stop everything, unmount, sync, reboot(2). Never returns.
fn shutdown(log: &mut Log, kind: Shutdown, all: &SigSet) -> ! {
    log!(log, "shutting down: {}", kind.word());
    // SIGTERM to every process (kill -1 spares PID 1), a grace period while
    // reaping, then SIGKILL for what is left.
    signal::kill_all(Signal::TERM.as_raw());
    let deadline = log::monotonic_ns() + GRACE_SECONDS * 1_000_000_000;
    while has_children() {
        let now = log::monotonic_ns();
        if now >= deadline {
            log!(
                log,
                "processes still running after {GRACE_SECONDS} s: SIGKILL"
            );
            break;
        }
        let _ = signal::wait_signal(all, Some((deadline - now) / 1_000_000 + 1));
        let _ = process::reap_all(Pid::INIT);
    }
    signal::kill_all(Signal::KILL.as_raw());
    while has_children() {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    unmount_all(log);
    rustix::fs::sync();
    let command = match kind {
        Shutdown::PowerOff => RebootCommand::PowerOff,
        Shutdown::Reboot => RebootCommand::Restart,
        Shutdown::Halt => RebootCommand::Halt,
    };
    if let Err(e) = rustix::system::reboot(command) {
        log!(log, "reboot(2): {}", crate::error::ErrnoText(e));
    }
    // reboot(2) does not come back; if it failed, PID 1 must still not exit.
    loop {
        let _ = signal::wait_signal(all, None);
        let _ = process::reap_all(Pid::INIT);
    }
}

/// Whether box-init has any child left (exited or not).
pub fn has_children() -> bool {
    !matches!(
        rustix::process::waitid(
            WaitId::All,
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT
        ),
        Err(Errno::CHILD)
    )
}

/// Unmount what can be unmounted, deepest first; remount the rest
/// read-only, so every filesystem is clean before reboot(2).
fn unmount_all(log: &mut Log) {
    let mut points: heapless::Vec<CPath, 64> = heapless::Vec::new();
    if let Ok(mut reader) = crate::mountinfo::MountinfoReader::open(None) {
        while let Some(entry) = reader.next_entry() {
            if let Some(point) = entry.ok().and_then(|e| e.mount_point.to_cpath()) {
                let _ = points.push(point);
            }
        }
    }
    for point in points.iter().rev() {
        if point.as_bytes() == b"/" {
            continue;
        }
        if rustix::mount::unmount(point.as_cstr(), UnmountFlags::empty()).is_err() {
            let _ = rustix::mount::mount_remount(point.as_cstr(), MountFlags::RDONLY, c"");
        }
    }
    let _ = rustix::mount::mount_remount(c"/", MountFlags::RDONLY, c"");
    let _ = log;
}
