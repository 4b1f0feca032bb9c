//! The end of the board's life: shutdown, and boot faults.
//!
//! Shutdown keeps what was written: SIGTERM to every process (containers
//! first of all), a grace period while reaping, SIGKILL for what is left,
//! then sync, every mount unmounted (or, when busy, remounted read-only) in
//! reverse mount order with "/" last, sync again, the watchdog's magic
//! close, and reboot(2). A filesystem that can be neither unmounted nor
//! remounted read-only is named on the console: it will need a check.
//!
//! A boot fault (no root device, an unknown filesystem, no init on the
//! real root) has had its one line logged; then box-init starts the rescue
//! shell with `box.shell=1`, or reboots after `box.panic_delay=` seconds
//! (10 by default). PID 1 never exits, so the kernel never panics for it.

use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use rustix::system::RebootCommand;

use crate::board::control::{Event, Waits};
use crate::board::log::monotonic_ns;
use crate::board::{Cmdline, Log, Shutdown};
use crate::log;
use crate::sys::entry::Args;
use crate::sys::{process, signal};
use crate::text::CPath;

/// Seconds between SIGTERM and SIGKILL at shutdown.
pub const GRACE_SECONDS: u64 = 5;
/// Seconds to wait for processes killed with SIGKILL (one stuck in the
/// kernel may never go: the filesystems are then remounted read-only
/// under it, or named as unclean).
const KILL_WAIT_SECONDS: u64 = 5;
/// Most mounts unmounted one by one; beyond them, "/" read-only still
/// makes the root clean.
const MAX_MOUNTS: usize = 64;

/// Stop everything, leave the filesystems clean, reboot(2). Never returns.
pub fn shutdown(log: &mut Log, kind: Shutdown, waits: &mut Waits) -> ! {
    log!(log, "shutting down: {}", kind.word());
    // kill(-1) spares PID 1 itself.
    signal::kill_all(Signal::TERM.as_raw());
    if !reap_until(waits, GRACE_SECONDS) {
        log!(
            log,
            "processes still running after {GRACE_SECONDS} s: SIGKILL"
        );
        signal::kill_all(Signal::KILL.as_raw());
        // One stuck in the kernel may never go: the filesystems are then
        // made read-only under it, or named as unclean.
        reap_until(waits, KILL_WAIT_SECONDS);
    }
    // Written data goes to the disks while every mount is still there.
    rustix::fs::sync();
    unmount_all(log);
    rustix::fs::sync();
    waits.watchdog.close_cleanly();
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
        let _ = waits.next(None);
        let _ = process::reap_all(Pid::INIT);
    }
}

/// Reap children for up to `seconds`; true once none is left.
fn reap_until(waits: &mut Waits, seconds: u64) -> bool {
    let deadline = monotonic_ns() + seconds * 1_000_000_000;
    loop {
        let _ = process::reap_all(Pid::INIT);
        if !has_children() {
            return true;
        }
        let now = monotonic_ns();
        if now >= deadline {
            return false;
        }
        // Shutdown requests are answered by this shutdown already.
        let _ = waits.next(Some((deadline - now) / 1_000_000 + 1));
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

/// Unmount every mount, deepest (latest) first; remount read-only the
/// ones still busy, and "/" last, so that every filesystem is clean before
/// reboot(2).
fn unmount_all(log: &mut Log) {
    let mut points: heapless::Vec<CPath, MAX_MOUNTS> = heapless::Vec::new();
    if let Ok(mut reader) = crate::mountinfo::MountinfoReader::open(None) {
        while let Some(entry) = reader.next_entry() {
            if let Some(point) = entry.ok().and_then(|e| e.mount_point.to_cpath()) {
                if point.as_bytes() != b"/" && points.push(point).is_err() {
                    break;
                }
            }
        }
    }
    // "/" last, read-only (it cannot be unmounted).
    let root = CPath::from_bytes(b"/").unwrap_or_default();
    for point in points.iter().rev().chain(core::iter::once(&root)) {
        if point.as_bytes() != b"/"
            && rustix::mount::unmount(point.as_cstr(), UnmountFlags::empty()).is_ok()
        {
            continue;
        }
        if let Err(e) = remount_read_only(point) {
            log!(
                log,
                "{point}: neither unmounted nor read-only ({}): it will need a check",
                crate::error::ErrnoText(e)
            );
        }
    }
}

/// mount -o remount,ro: the filesystem writes out what it holds and is
/// marked clean. A read-only one stays as it is.
fn remount_read_only(point: &CPath) -> Result<(), Errno> {
    match rustix::mount::mount_remount(point.as_cstr(), MountFlags::RDONLY, c"") {
        // EROFS: it already is (a squashfs root, a read-only medium).
        Ok(()) | Err(Errno::ROFS) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A boot fault, after its one line: the rescue shell (`box.shell=1`) or a
/// reboot after `box.panic_delay=` seconds. Never returns.
pub fn fault(log: &mut Log, cmdline: &Cmdline, args: Args, waits: &mut Waits) -> ! {
    // An image without a shell reboots after the delay all the same, not
    // at once (which, the fault staying, would be a tight reboot loop).
    let shell =
        cmdline.shell && rustix::fs::access(c"/bin/sh", rustix::fs::Access::EXEC_OK).is_ok();
    let kind = if shell {
        log!(
            log,
            "boot fault: starting /bin/sh on the console (box.shell=1); the board reboots when it exits"
        );
        crate::board::run_shell(log, args, waits, Shutdown::Reboot)
    } else {
        let delay = cmdline.panic_delay();
        log!(
            log,
            "boot fault: rebooting in {delay} s (box.shell=1 gives a shell instead, box.panic_delay=S another delay)"
        );
        wait_for_reboot(waits, u64::from(delay))
    };
    shutdown(log, kind, waits)
}

/// Sleep `seconds`, reaping and feeding the watchdog; a shutdown asked for
/// meanwhile is honoured at once.
fn wait_for_reboot(waits: &mut Waits, seconds: u64) -> Shutdown {
    let deadline = monotonic_ns() + seconds * 1_000_000_000;
    loop {
        let now = monotonic_ns();
        if now >= deadline {
            return Shutdown::Reboot;
        }
        match waits.next(Some((deadline - now) / 1_000_000 + 1)) {
            Event::Shutdown(kind) => return kind,
            Event::Child => {
                let _ = process::reap_all(Pid::INIT);
            }
            Event::Nothing => {}
        }
    }
}
