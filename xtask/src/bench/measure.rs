//! Running one command line and measuring it: wall time around spawn and
//! reap, and (in a separate, untimed run) the peak RSS of the tool's own
//! process.
//!
//! Why not wait4's ru_maxrss for the memory: it is the largest peak of the
//! child and of everything the child waited for, and the child's own peak
//! starts with the memory of the process that spawned it (std spawns with
//! vfork semantics, and exec records the shared mm's high-water mark in the
//! child). Measured here it was xtask's 7.5 MiB for every tool alike.

use std::io::{self, Read};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How a command is started: its words, and a mount namespace to enter
/// between fork and exec (crun on a hybrid cgroup host, see setup.rs).
pub struct Launch<'a> {
    pub argv: &'a [String],
    pub mount_namespace: Option<RawFd>,
}

impl Launch<'_> {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.argv[0]);
        command.args(&self.argv[1..]);
        if let Some(fd) = self.mount_namespace {
            // SAFETY: between fork and exec the closure only makes one
            // async-signal-safe syscall; fd stays open in the parent for
            // the whole bench (it belongs to setup's namespace holder).
            unsafe {
                command.pre_exec(move || {
                    if libc::setns(fd, libc::CLONE_NEWNS) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        command
    }
}

/// Run once with no input and output, timing spawn to reap. A non-zero
/// exit is an error carrying the status (the caller re-runs with `capture`
/// to show why).
pub fn time_once(launch: &Launch) -> Result<Duration> {
    let mut command = launch.command();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("cannot run {}", launch.argv[0]))?;
    let status = reap(child.id() as libc::pid_t)?;
    let elapsed = start.elapsed();
    if !exited_zero(status) {
        bail!("{}", describe_status(status));
    }
    Ok(elapsed)
}

/// Run once and return the exit status and the last lines of stderr.
pub fn capture(launch: &Launch) -> Result<(bool, String)> {
    let output = launch
        .command()
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", launch.argv[0]))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    let why = match output.status.code() {
        Some(0) => tail,
        _ => format!("{} ({})", tail, output.status),
    };
    Ok((output.status.success(), why))
}

/// The peak RSS of the tool's own process, KiB: its VmHWM read from
/// /proc/PID/status at PTRACE_EVENT_EXIT, when the process is exiting but
/// its memory is still there. Unlike wait4's ru_maxrss this leaves out the
/// processes the tool started (for box run: the container), so it answers
/// "how much memory does box itself take".
pub fn own_peak_rss(launch: &Launch) -> Result<u64> {
    let mut command = launch.command();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: PTRACE_TRACEME is one async-signal-safe syscall; the child
    // then stops with SIGTRAP at its exec, which the loop below expects.
    unsafe {
        command.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command
        .spawn()
        .with_context(|| format!("cannot run {}", launch.argv[0]))?;
    let pid = child.id() as libc::pid_t;
    let mut peak = None;
    let mut attached = false;
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child into a local.
        if unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error).context("waitpid");
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            if !exited_zero(status) {
                bail!("{}", describe_status(status));
            }
            break;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let signal = libc::WSTOPSIG(status);
        let event = status >> 16;
        let mut forward = 0;
        if !attached && signal == libc::SIGTRAP && event == 0 {
            // The stop at the first exec: ask for a stop at exit, and for
            // later execs to be told apart from a real SIGTRAP.
            attached = true;
            let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_TRACEEXEC;
            // SAFETY: pid is our tracee, stopped.
            if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) } < 0 {
                return Err(io::Error::last_os_error()).context("PTRACE_SETOPTIONS");
            }
        } else if event == libc::PTRACE_EVENT_EXIT {
            peak = Some(vm_hwm(pid)?);
        } else if event == 0 {
            // A signal for the tool (SIGCHLD from its container, …).
            forward = signal;
        }
        // SAFETY: pid is our tracee, stopped; forward is 0 or its signal.
        if unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, forward) } < 0 {
            return Err(io::Error::last_os_error()).context("PTRACE_CONT");
        }
    }
    peak.context("the process ended without an exit stop")
}

/// VmHWM of a process, KiB.
fn vm_hwm(pid: libc::pid_t) -> Result<u64> {
    let mut text = String::new();
    std::fs::File::open(format!("/proc/{pid}/status"))
        .and_then(|mut f| f.read_to_string(&mut text))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("no VmHWM in /proc/PID/status")?;
    let kib = line.trim().trim_end_matches("kB").trim();
    kib.parse()
        .with_context(|| format!("VmHWM {kib:?} is not a number"))
}

/// waitpid on our child, retrying on EINTR. (Not std's Child::wait, so
/// that the code timed is the same few syscalls for every tool.)
fn reap(pid: libc::pid_t) -> Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child into a local.
        let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
        if reaped == pid {
            return Ok(status);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error).context("waitpid");
        }
    }
}

fn exited_zero(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

fn describe_status(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("exit status {}", libc::WEXITSTATUS(status))
    }
}

/// How much of the machine went to anything but the bench while it ran:
/// the CPU time /proc/stat counts as busy, less this process's and its
/// reaped descendants' (getrusage), as a share of all CPU time. Kernel
/// threads working for the bench (namespace and cgroup teardown) count as
/// other work too, so it never reads low when the machine was busy.
pub struct OtherLoad {
    busy: f64,
    total: f64,
    own: f64,
}

impl OtherLoad {
    pub fn start() -> Option<OtherLoad> {
        let (busy, total) = cpu_seconds()?;
        Some(OtherLoad {
            busy,
            total,
            own: own_cpu_seconds(),
        })
    }

    /// The share (0 to 1) since `start`.
    pub fn share(&self) -> Option<f64> {
        let (busy, total) = cpu_seconds()?;
        let other = (busy - self.busy) - (own_cpu_seconds() - self.own);
        let total = total - self.total;
        (total > 0.0).then(|| (other / total).clamp(0.0, 1.0))
    }
}

/// Busy and total CPU seconds of all CPUs, from /proc/stat's `cpu` line.
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let [user, nice, system, idle, iowait, irq, softirq, steal, ..] = fields[..] else {
        return None;
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let busy = (user + nice + system + irq + softirq + steal) as f64 / hz;
    Some((busy, busy + (idle + iowait) as f64 / hz))
}

/// User and system CPU seconds of this process and its reaped children.
fn own_cpu_seconds() -> f64 {
    let seconds = |who| {
        // SAFETY: rusage is plain data (zeroes are valid) and getrusage
        // fills it.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage
        };
        let time = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        time(usage.ru_utime) + time(usage.ru_stime)
    };
    seconds(libc::RUSAGE_SELF) + seconds(libc::RUSAGE_CHILDREN)
}

/// Median and spread of a set of times.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: Duration,
    pub p10: Duration,
    pub p90: Duration,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort();
        let at = |fraction: f64| sorted[((sorted.len() - 1) as f64 * fraction).round() as usize];
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2
        };
        Some(Summary {
            median,
            p10: at(0.1),
            p90: at(0.9),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn median_and_spread() {
        let odd = Summary::of(&ms(&[5, 1, 3])).unwrap();
        assert_eq!(odd.median, Duration::from_millis(3));
        let even = Summary::of(&ms(&[4, 1, 2, 3])).unwrap();
        assert_eq!(even.median, Duration::from_micros(2500));
        let many = Summary::of(&ms(&(1..=11).collect::<Vec<_>>())).unwrap();
        assert_eq!(many.p10, Duration::from_millis(2));
        assert_eq!(many.p90, Duration::from_millis(10));
        assert!(Summary::of(&[]).is_none());
    }
}
