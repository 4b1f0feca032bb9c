//! `box run --debug-timing`: how long each setup step took, in µs, on
//! standard error. For finding where a run's time goes (README, "Size and
//! speed"), not for scripts: the labels may change with the steps.
//!
//! Off, a mark is one load of a flag: no clock is read and no syscall
//! made. On, a mark reads the monotonic clock (clock_gettime) and
//! keeps the time since the previous mark in a fixed table of static
//! counters, one per [`Step`]: no heap, so the container child (a copy of
//! box's memory after clone) marks its own steps in its own copy of the
//! table, and prints them itself just before exec. box prints its own once
//! the command runs.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use core::ffi::c_long;

use rustix::time::{ClockId, Timespec};

/// A step timed: the time from the mark before it to its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Step {
    // Before the sealed re-exec (src/sys/exe.rs): opening
    // /proc/self/exe and the checks, then making the sealed copy.
    SealCheck,
    SealCopy,
    // box run, from the sealed copy's main.
    Parse,
    Plan,
    /// Signals blocked, the command's 0, 1, 2 prepared.
    Prepare,
    Cgroup,
    Clone,
    /// From clone's return until the child's report (EOF: it executed
    /// the command).
    Child,
    // The container child (src/container/child.rs), from its first
    // instruction.
    Join,
    Namespaces,
    Session,
    // rootfs::build, phase by phase.
    Private,
    BindRoot,
    Nodev,
    KernelFs,
    HostTrees,
    PivotRoot,
    Dev,
    Binds,
    Tmpfs,
    Masks,
    Hostname,
    Loopback,
    Workdir,
    CloseFds,
    Identity,
    Stdio,
    Signals,
    Landlock,
    Seccomp,
}

/// Labels, in the order of [`Step`].
const LABELS: [&str; STEPS] = [
    "check",
    "copy",
    "parse",
    "plan",
    "prepare",
    "cgroup",
    "clone",
    "child",
    "cgroup",
    "namespaces",
    "session",
    "private",
    "bind root",
    "nodev",
    "proc sys",
    "host trees",
    "pivot",
    "dev",
    "binds",
    "tmpfs",
    "masks",
    "hostname",
    "loopback",
    "workdir",
    "close fds",
    "identity",
    "stdio",
    "signals",
    "landlock",
    "seccomp",
];

const STEPS: usize = Step::Seccomp as usize + 1;

static ON: AtomicBool = AtomicBool::new(false);
/// The monotonic clock at the last mark, in ns.
static LAST: AtomicU64 = AtomicU64::new(0);
/// ns spent in each step (+1, so that 0 is a step that did not run).
static SPENT: [AtomicU64; STEPS] = [const { AtomicU64::new(0) }; STEPS];

/// clock_gettime(2), a system call. rustix's reads the vDSO, whose
/// lookup (a walk of the vDSO's ELF tables at first use) is about 2 KiB
/// of box's binary; the call costs a fraction of a µs more, at a mark.
pub fn clock_gettime(id: ClockId) -> Timespec {
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // 32-bit ARM: the 64-bit timespec is clock_gettime64's (Linux 5.1),
    // the 32-bit one clock_gettime's, for older kernels.
    #[cfg(target_pointer_width = "32")]
    {
        let nr = linux_raw_sys::general::__NR_clock_gettime64;
        // SAFETY: the kernel writes one 64-bit timespec (the layout of
        // rustix's Timespec, __kernel_timespec) into `t`, valid and
        // exclusively borrowed for the call.
        if super::check(unsafe { libc::syscall(nr as c_long, id as c_long, &raw mut t) })
            != Err(rustix::io::Errno::NOSYS)
        {
            return t;
        }
        let mut old = [0i32; 2];
        let nr = linux_raw_sys::general::__NR_clock_gettime;
        // SAFETY: the kernel writes one 32-bit timespec (two 32-bit
        // words) into `old`, valid and exclusively borrowed for the call.
        let _ = super::check(unsafe { libc::syscall(nr as c_long, id as c_long, &raw mut old) });
        t.tv_sec = old[0].into();
        t.tv_nsec = old[1].into();
    }
    #[cfg(target_pointer_width = "64")]
    {
        let nr = linux_raw_sys::general::__NR_clock_gettime;
        // SAFETY: the kernel writes one timespec (the layout of rustix's
        // Timespec) into `t`, valid and exclusively borrowed for the
        // call; a clock id it does not know fails with EINVAL and leaves
        // `t` zero.
        let _ = super::check(unsafe { libc::syscall(nr as c_long, id as c_long, &raw mut t) });
    }
    t
}

fn now() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Start timing: the next mark counts from here.
pub fn enable() {
    LAST.store(now(), Relaxed);
    ON.store(true, Relaxed);
}

/// Whether timing is on.
pub fn on() -> bool {
    ON.load(Relaxed)
}

/// Count from here again (the child, whose first step starts when it
/// first runs, not at box's last mark).
pub fn restart() {
    if on() {
        LAST.store(now(), Relaxed);
    }
}

/// `step` ends now.
#[inline]
pub fn mark(step: Step) {
    if on() {
        let t = now();
        let spent = t.saturating_sub(LAST.swap(t, Relaxed));
        SPENT[step as usize].fetch_add(spent + 1, Relaxed);
    }
}

/// Which steps a line shows.
#[derive(Clone, Copy)]
pub enum Side {
    /// Before the sealed re-exec.
    Seal,
    /// box, with the CPU time the process had used when it was enabled
    /// (the exec, the sealed copy and its exec: everything before main).
    Parent,
    Child,
}

/// Write the steps of `side` that ran as one line on standard error:
/// `box: timing: parse 9 µs, plan 31 µs, …`.
pub fn print(side: Side) {
    if !on() {
        return;
    }
    let (name, steps) = match side {
        Side::Seal => ("seal: ", Step::SealCheck..=Step::SealCopy),
        Side::Parent => ("", Step::SealCheck..=Step::Child),
        Side::Child => ("child: ", Step::Join..=Step::Seccomp),
    };
    // One write: in the child, box's and the child's lines must not mix.
    let mut line = crate::text::Text::<1024>::new();
    let _ = write!(line, "box: timing: {name}");
    let mut total = 0;
    let mut first = true;
    for i in *steps.start() as usize..=*steps.end() as usize {
        let spent = SPENT[i].load(Relaxed);
        if spent == 0 {
            continue;
        }
        total += spent - 1;
        let comma = if first { "" } else { ", " };
        first = false;
        let _ = write!(line, "{comma}{} {} µs", LABELS[i], (spent - 1) / 1000);
    }
    let _ = write!(line, "; total {} µs", total / 1000);
    if let Side::Parent | Side::Seal = side {
        let cpu = clock_gettime(ClockId::ProcessCPUTime);
        let cpu = cpu.tv_sec as u64 * 1_000_000 + cpu.tv_nsec as u64 / 1000;
        let _ = write!(line, "; cpu {cpu} µs so far");
    }
    let _ = line.write_str("\n");
    let _ = rustix::io::write(super::fd::stderr(), line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_its_label() {
        assert_eq!(LABELS.len(), STEPS);
        assert_eq!(LABELS[Step::Seccomp as usize], "seccomp");
        assert_eq!(LABELS[Step::Parse as usize], "parse");
        assert_eq!(LABELS[Step::Join as usize], "cgroup");
    }
}
