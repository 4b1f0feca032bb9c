//! Named containers: `box ps`, `box kill NAME [SIG]`, `box stop NAME
//! [--time S]`, `box logs NAME`, `box rm [-f] NAME…`. Their state is in
//! /run/box/NAME (see src/state.rs) and stays after they end, until
//! `box rm`; a container is addressed through a pidfd opened after
//! checking the recorded start time, so a recycled PID is never signalled.

use core::fmt::Write;

use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Signal;

use crate::args::CommandLine;
use crate::error::{EXIT_BOX, ErrnoText, Error, Result};
use crate::options::{Command, NoOption, Opt, Usage};
use crate::out::finish;
use crate::state::{self, Phase, Record, State};
use crate::sys::entry::Args;
use crate::text::{Bytes, Text};
use crate::{bad, errln, outln};

/// `box ps`: every named container, running or ended, with its status.
/// Nothing is removed but what `--rm` asked for: the state of a `--rm`
/// container that is gone (its supervisor was killed), or of one that
/// never started, is shown once.
pub fn main(args: Args) -> u8 {
    finish(&PS, ps(args))
}

pub const PS: Command<NoOption> = Command {
    usage: Usage {
        name: "box ps",
        synopsis: &[""],
        about: packed!(
            "Lists the named containers, running or ended: name, PID, status, uptime,\n\
                memory, number of processes and command."
        ),
        notes: packed!(""),
    },
    options: &[],
};

fn ps(args: Args) -> Result<u8> {
    if let Some(found) = CommandLine::new(args, &PS).next()? {
        match found.action {}
    }
    // The header, padded as the rows below are ({:<16} {:>7} {:<26}
    // {:>9} {:>9} {:>5}).
    outln!(
        "NAME                 PID STATUS                        UPTIME    MEMORY  PIDS  COMMAND"
    );
    let mut names: heapless::Vec<Text<{ crate::config::NAME_MAX }>, 256> = heapless::Vec::new();
    state::each_name(&mut |name| {
        let _ = names.push(Text::from_bytes_lossy(name));
    });
    names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in &names {
        let Ok(state) = State::open(name.as_bytes()) else {
            continue;
        };
        let record = state.record();
        let phase = record.phase();
        let alive = phase == Phase::Running;
        let status = record.shown_status(phase);
        let (memory, tasks) = match record.pid {
            Some(pid) if alive => crate::cgroup::usage(pid, name.as_bytes()),
            _ => (None, None),
        };
        let up;
        let uptime = cell(if alive && record.created > 0 {
            up = Duration(state::now().saturating_sub(record.created));
            Some(&up)
        } else {
            None
        });
        let mem = cell(memory.map(Size).as_ref().map(|m| m as _));
        let pids = cell(tasks.as_ref().map(|n| n as _));
        let pid = record.pid.filter(|_| alive).map(|p| p.as_raw_nonzero());
        let pid = cell(pid.as_ref().map(|p| p as _));
        outln!(
            "{:<16} {:>7} {:<26} {:>9} {:>9} {:>5}  {}",
            name,
            pid,
            status,
            uptime,
            mem,
            pids,
            record.command
        );
        if record.disposable(phase) {
            state.remove();
        }
    }
    Ok(0)
}

/// `5s`, `3m20s`, `2h05m`, `4d03h`.
/// A cell of the table: the value, or `-` without one.
fn cell(value: Option<&dyn core::fmt::Display>) -> Text<12> {
    let mut text = Text::new();
    match value {
        Some(value) => {
            let _ = write!(text, "{value}");
        }
        None => text.push(b"-"),
    }
    text
}

struct Duration(u64);

impl core::fmt::Display for Duration {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.0;
        match s {
            0..60 => write!(f, "{s}s"),
            60..3600 => write!(f, "{}m{:02}s", s / 60, s % 60),
            3600..86400 => write!(f, "{}h{:02}m", s / 3600, s % 3600 / 60),
            _ => write!(f, "{}d{:02}h", s / 86400, s % 86400 / 3600),
        }
    }
}

/// Bytes as `12.3M`.
struct Size(u64);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let n = self.0;
        for (shift, suffix) in [(30, 'G'), (20, 'M'), (10, 'K')] {
            if n >= 1 << shift {
                let tenths = (n * 10) >> shift;
                return write!(f, "{}.{}{suffix}", tenths / 10, tenths % 10);
            }
        }
        write!(f, "{n}B")
    }
}

/// `box kill NAME [SIG]` (SIGKILL by default, as `docker kill`; `box stop`
/// is the graceful one).
pub fn kill(args: Args) -> u8 {
    finish(&KILL, kill_container(args))
}

pub const KILL: Command<NoOption> = Command {
    usage: Usage {
        name: "box kill",
        synopsis: &["NAME [SIGNAL]"],
        about: packed!(
            "Sends SIGNAL to the init of container NAME: a name (KILL, SIGTERM, usr1)\n\
                or a number; SIGKILL by default, as docker kill (box stop is the graceful\n\
                one)."
        ),
        notes: packed!(""),
    },
    options: &[],
};

fn kill_container(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &KILL);
    if let Some(found) = line.next()? {
        match found.action {}
    }
    let rest = line.rest();
    let Some(name) = rest.get(0) else {
        return Err(KILL.usage.error());
    };
    let signal = match rest.get(1) {
        Some(word) => crate::sys::signal::parse(word.to_bytes())
            .ok_or_else(|| bad!("unknown signal {}", Bytes(word.to_bytes())))?,
        None => Signal::KILL.as_raw(),
    };
    let (_, record, pidfd) = State::open_running(name.to_bytes())?;
    let pid = record.pid.ok_or_else(|| bad!("no pid"))?;
    crate::sys::process::send_signal(pid, pidfd.as_ref().map(rustix::fd::AsFd::as_fd), signal)
        .map_err(|e| {
            Error::sys(
                packed!("signal the container"),
                "pidfd_send_signal",
                name.to_bytes(),
                e,
            )
        })?;
    Ok(0)
}

/// Default grace time of `box stop`, in seconds.
pub const STOP_GRACE: u64 = 10;

/// `box stop NAME [--time S]`: SIGTERM, up to S seconds to exit, SIGKILL.
pub fn stop(args: Args) -> u8 {
    finish(&STOP, stop_container(args))
}

#[derive(Clone, Copy, Debug)]
pub enum StopOption {
    Time,
}

pub const STOP: Command<StopOption> = Command {
    usage: Usage {
        name: "box stop",
        synopsis: &["NAME [--time SECONDS]"],
        about: packed!(
            "Stops container NAME: SIGTERM, then SIGKILL if it has not exited within\n\
                the grace time. Its state and log stay until box rm."
        ),
        notes: packed!(""),
    },
    options: &[Opt::value(
        "time",
        "SECONDS",
        packed!("grace time before SIGKILL (default 10)"),
        StopOption::Time,
    )
    .short(b't')],
};

fn stop_container(args: Args) -> Result<u8> {
    let mut grace = STOP_GRACE;
    // Options before or after the name: `box stop -t 2 web`, `box stop web
    // --time 2`.
    let mut line = CommandLine::new(args, &STOP);
    let mut name = None;
    for _ in 0..2 {
        while let Some(found) = line.next()? {
            match found.action {
                StopOption::Time => {
                    let v = found.text();
                    grace = crate::text::parse_u64(v).ok_or_else(|| {
                        bad!("{} {}: use a number of seconds", found.given, Bytes(v))
                    })?;
                }
            }
        }
        if name.is_none() {
            name = line.operand();
        }
    }
    let Some(name) = name else {
        return Err(STOP.usage.error());
    };
    if !line.rest().is_empty() {
        return Err(STOP.usage.error_because("one name"));
    }
    let name = name.to_bytes();
    stop_one(name, Some(grace))?;
    outln!("{}", Bytes(name));
    Ok(0)
}

/// Stop container `name`: SIGTERM, up to `grace` seconds, SIGKILL (at
/// once without a grace); then let its supervisor record the end. One that
/// is not running is left as it is (its state stays until `box rm`).
fn stop_one(name: &[u8], grace: Option<u64>) -> Result<()> {
    let (state, record, pidfd) = match State::open_running(name) {
        Ok(found) => found,
        Err(e) => {
            let state = State::open(name).map_err(|_| e)?;
            let record = state.record();
            if record.starting() {
                return Err(starting(name));
            }
            wait_for_supervisor(&state, &record);
            return Ok(());
        }
    };
    let pid = record.pid.ok_or_else(|| bad!("no pid"))?;
    let fd = pidfd.as_ref().map(rustix::fd::AsFd::as_fd);
    let graceful = grace.is_some_and(|seconds| {
        let _ = crate::sys::process::send_signal(pid, fd, Signal::TERM.as_raw());
        wait_exit(&record, pidfd.as_ref(), seconds * 1000)
    });
    if !graceful {
        let _ = crate::sys::process::send_signal(pid, fd, Signal::KILL.as_raw());
        if !wait_exit(&record, pidfd.as_ref(), 5000) {
            return Err(
                bad!("container {} did not die after SIGKILL", Bytes(name)).with_code(EXIT_BOX)
            );
        }
    }
    wait_for_supervisor(&state, &record);
    Ok(())
}

/// `box rm [-f] NAME…`: remove the state and log of containers that have
/// ended. A running one is refused unless `-f`, which kills it first
/// (SIGKILL, as `docker rm -f`). Each name removed is printed; a name that
/// fails is one line on stderr, and the others are still done.
pub fn rm(args: Args) -> u8 {
    finish(&RM, remove_containers(args))
}

#[derive(Clone, Copy, Debug)]
pub enum RmOption {
    Force,
}

pub const RM: Command<RmOption> = Command {
    usage: Usage {
        name: "box rm",
        synopsis: &["[-f] NAME…"],
        about: packed!("Removes the state and log of containers that have ended."),
        notes: packed!(""),
    },
    options: &[Opt::flag(
        "force",
        packed!("kill a running container first (SIGKILL)"),
        RmOption::Force,
    )
    .short(b'f')],
};

fn remove_containers(args: Args) -> Result<u8> {
    let mut force = false;
    let mut line = CommandLine::new(args, &RM);
    while let Some(found) = line.next()? {
        match found.action {
            RmOption::Force => force = true,
        }
    }
    let names = line.rest();
    if names.is_empty() {
        return Err(RM.usage.error());
    }
    let mut code = 0;
    for i in 0..names.len() {
        let name = names.bytes(i);
        match remove_one(name, force) {
            Ok(()) => outln!("{}", Bytes(name)),
            Err(e) => {
                errln!("box: rm: {e}");
                code = e.code;
            }
        }
    }
    Ok(code)
}

fn remove_one(name: &[u8], force: bool) -> Result<()> {
    let state = State::open(name)?;
    let record = state.record();
    match record.phase() {
        Phase::Starting => {
            return Err(starting(name));
        }
        Phase::Running if !force => {
            return Err(bad!(
                "container {} is running: box stop {} first, or box rm -f {}",
                Bytes(name),
                Bytes(name),
                Bytes(name)
            ));
        }
        Phase::Running => stop_one(name, None)?,
        Phase::Exited | Phase::Gone => {}
    }
    state.remove();
    Ok(())
}

/// The refusal for a container that is still starting.
fn starting(name: &[u8]) -> Error {
    bad!(
        "container {} is starting: try again once it runs",
        Bytes(name)
    )
}

/// Wait up to `ms` for the container's init to exit.
fn wait_exit(record: &Record, pidfd: Option<&OwnedFd>, ms: u64) -> bool {
    let deadline = now_ms() + ms;
    loop {
        if !record.alive() {
            return true;
        }
        let left = deadline.saturating_sub(now_ms());
        if left == 0 {
            return false;
        }
        let step = left.min(100);
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: (step * 1_000_000) as i64,
        };
        match pidfd {
            // A pidfd polls readable when the process exits.
            Some(fd) => {
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                let _ = rustix::event::poll(&mut fds, Some(&timeout));
            }
            None => {
                let _ = rustix::thread::nanosleep(&timeout);
            }
        }
    }
}

/// Let the supervisor record the exit status and remove the cgroup: until
/// the status says so, or the supervisor is gone (2 s at most).
fn wait_for_supervisor(state: &State, record: &Record) {
    let Some(supervisor) = record.supervisor else {
        return;
    };
    let deadline = now_ms() + 2000;
    while now_ms() < deadline {
        let mut buf = [0u8; 32];
        if state.read(c"status", &mut buf).starts_with(b"exited")
            || rustix::process::test_kill_process(supervisor).is_err()
        {
            return;
        }
        let pause = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 5_000_000,
        };
        let _ = rustix::thread::nanosleep(&pause);
    }
}

fn now_ms() -> u64 {
    let t = crate::sys::timing::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1000 + t.tv_nsec as u64 / 1_000_000
}

/// `box logs NAME`: a detached container's output (the rotated part first).
pub fn logs(args: Args) -> u8 {
    finish(&LOGS, show_logs(args))
}

pub const LOGS: Command<NoOption> = Command {
    usage: Usage {
        name: "box logs",
        synopsis: &["NAME"],
        about: packed!("Prints the output of detached container NAME, the rotated part first."),
        notes: packed!(""),
    },
    options: &[],
};

fn show_logs(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &LOGS);
    if let Some(found) = line.next()? {
        match found.action {}
    }
    let rest = line.rest();
    let Some(name) = rest.get(0) else {
        return Err(LOGS.usage.error());
    };
    let state = State::open(name.to_bytes())?;
    let mut found = false;
    for file in [c"log.1", c"log"] {
        let Ok(fd) = rustix::fs::openat(
            state.dir(),
            file,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        found = true;
        let mut buf = [0u8; 8192];
        loop {
            match rustix::io::read(&fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => crate::out::write_all(crate::sys::fd::stdout(), &buf[..n]),
                Err(Errno::INTR) => {}
                Err(e) => {
                    errln!("box: logs: read: {}", ErrnoText(e));
                    return Ok(EXIT_BOX);
                }
            }
        }
    }
    if !found {
        return Err(bad!(
            "container {} keeps no log (only detached containers do)",
            Bytes(name.to_bytes())
        ));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        let mut t = Text::<16>::new();
        let _ = write!(t, "{} {} {}", Duration(59), Duration(200), Duration(7300));
        assert_eq!(t.as_bytes(), b"59s 3m20s 2h01m");
        let mut t = Text::<16>::new();
        let _ = write!(t, "{} {}", Size(1536), Size(33 << 20));
        assert_eq!(t.as_bytes(), b"1.5K 33.0M");
    }
}
