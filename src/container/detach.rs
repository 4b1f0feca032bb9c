//! `box run --detach`: box stays behind as a small supervisor of the
//! container (it holds the pidfd, keeps the output in a size-capped log,
//! records the exit status) and the command line returns with the name.
//!
//! If the supervisor is killed, its container dies with it (the container's
//! parent-death signal is SIGKILL; see child.rs): a container nobody
//! supervises would have no log, no status and no one to reap it. The state
//! it leaves is then cleaned up by `box ps` or `box stop`.

use core::fmt::Write;

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;

use crate::bad;
use crate::container::plan::Plan;
use crate::container::{self, Life, child};
use crate::error::{Context, EXIT_BOX, Error, Result};
use crate::state::{LOG_MAX, State};
use crate::sys::fd::StdFd;
use crate::sys::{clone, exec, fd, process, signal};
use crate::text::Text;

/// Start the container under a supervisor; returns once it runs (or
/// failed), having printed the container's name.
pub fn run(plan: &Plan) -> Result<u8> {
    let state = State::create(plan.name.as_bytes(), plan.config.rm)?;
    let (ready_read, ready_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
        packed!("create the report pipe"),
        "pipe2",
        b"",
    )?;
    let mut ready = Some(ready_write);
    let mut state_slot = Some(state);
    let spawned = clone::spawn(
        0,
        None,
        rustix::process::Signal::CHILD.as_raw() as u64,
        || {
            let (Some(ready), Some(state)) = (ready.take(), state_slot.take()) else {
                exec::exit_now(EXIT_BOX)
            };
            supervise(plan, state, ready)
        },
    );
    match spawned {
        Ok(_) => {}
        Err((call, e)) => {
            if let Some(state) = state_slot.take() {
                state.remove();
            }
            return Err(Error::sys(packed!("start the supervisor"), call, b"", e));
        }
    }
    drop(ready.take());
    drop(state_slot.take());
    let report = child::Report::read(ready_read.as_fd()).unwrap_or_else(|_| child::Report::empty());
    match report.decode() {
        Some((0, _)) => {
            crate::outln!("{}", plan.name);
            Ok(0)
        }
        Some(_) => Err(report.error("the container")),
        None => Err(bad!("the supervisor died before the container started")),
    }
}

/// The supervisor process: never returns.
fn supervise(plan: &Plan, state: State, ready: OwnedFd) -> ! {
    let started = match detach() {
        Ok(output) => {
            container::launch(plan, container::Mode::Supervised(state)).map(|life| (life, output))
        }
        Err(e) => {
            state.remove();
            Err(e)
        }
    };
    match started {
        Ok((life, output)) => {
            child::send_line(ready.as_fd(), 0, b"");
            drop(ready);
            let code = watch(&life, output);
            life.end(code);
            exec::exit_now(0)
        }
        Err(e) => {
            let mut text = Text::<{ child::REPORT_MAX }>::new();
            let _ = write!(text, "{e}");
            child::send_line(ready.as_fd(), e.code, text.as_bytes());
            exec::exit_now(e.code)
        }
    }
}

/// Leave the caller's terminal and session; the container's output (and
/// this supervisor's own messages) go to a pipe, whose reading end this
/// returns.
fn detach() -> Result<OwnedFd> {
    rustix::process::setsid().at(packed!("detach"), "setsid", b"")?;
    // Input: a pipe without a writer, which reads as end of file. Not the
    // host's /dev/null, which the container would hold as its stdin, and
    // root inside could chmod or chown for every user of the host.
    let (input, _) =
        rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(packed!("detach"), "pipe2", b"")?;
    let (out_read, out_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
        packed!("create the log pipe"),
        "pipe2",
        b"",
    )?;
    fd::dup_onto(input.as_fd(), StdFd::Stdin).at(packed!("detach"), "dup2", b"stdin")?;
    fd::dup_onto(out_write.as_fd(), StdFd::Stdout).at(packed!("detach"), "dup2", b"log pipe")?;
    fd::dup_onto(out_write.as_fd(), StdFd::Stderr).at(packed!("detach"), "dup2", b"log pipe")?;
    Ok(out_read)
}

/// Pump the container's output into the log, forward signals, and return
/// the container's exit status once it is gone.
fn watch(life: &Life, output: OwnedFd) -> u8 {
    let container = &life.container;
    let signals = signal::signalfd(&container::watched_signals()).ok();
    let mut log = life.state().map(Log::open);
    let mut output = Some(output);
    let pidfd = container.pidfd.as_ref().map(|f| f.as_fd());
    if let Some(out) = &output {
        // Read what is there, never block: the pidfd must be seen too.
        let _ = rustix::io::ioctl_fionbio(out, true);
    }
    loop {
        if let Ok(Some(code)) = process::try_reap(container.pid, pidfd) {
            if let Some(out) = &output {
                pump(out, &mut log);
            }
            return code;
        }
        let mut fds: heapless::Vec<PollFd<'_>, 3> = heapless::Vec::new();
        if let Some(out) = &output {
            let _ = fds.push(PollFd::new(out, PollFlags::IN));
        }
        if let Some(fd) = pidfd {
            let _ = fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        if let Some(sig) = &signals {
            let _ = fds.push(PollFd::new(sig, PollFlags::IN));
        }
        // Without a pidfd (before 5.3) SIGCHLD on the signalfd wakes us.
        let _ = rustix::event::poll(&mut fds, None);
        let output_ready = output.is_some()
            && fds[0]
                .revents()
                .intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR);
        drop(fds);
        if output_ready {
            let open = output.as_ref().is_some_and(|out| pump(out, &mut log));
            if !open {
                output = None;
            }
        }
        if let Some(sig) = &signals {
            while let Some(signal) = signal::read_signalfd(sig.as_fd()) {
                if signal != rustix::process::Signal::CHILD.as_raw() {
                    let _ = process::send_signal(container.pid, pidfd, signal);
                }
            }
        }
    }
}

/// Copy what is readable now into the log (a supervised container always
/// has one); false at end of file.
fn pump(out: &OwnedFd, log: &mut Option<Log>) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match rustix::io::read(out, &mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                if let Some(log) = log {
                    log.append(&buf[..n]);
                }
            }
            Err(Errno::AGAIN | Errno::INTR) => return true,
            Err(_) => return false,
        }
    }
}

/// The log file, rotated to `log.1` past LOG_MAX.
struct Log<'a> {
    state: &'a State,
    file: Option<OwnedFd>,
    size: u64,
}

impl<'a> Log<'a> {
    fn open(state: &'a State) -> Log<'a> {
        let file = rustix::fs::openat(
            state.dir(),
            c"log",
            OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .ok();
        let size = file
            .as_ref()
            .and_then(|f| rustix::fs::fstat(f).ok())
            .map_or(0, |st| st.st_size as u64);
        Log { state, file, size }
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.size + bytes.len() as u64 > LOG_MAX {
            let _ = rustix::fs::renameat(self.state.dir(), c"log", self.state.dir(), c"log.1");
            *self = Log::open(self.state);
        }
        if let Some(f) = &self.file {
            crate::out::write_all(f, bytes);
            self.size += bytes.len() as u64;
        }
    }
}
