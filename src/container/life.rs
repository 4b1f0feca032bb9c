//! One container's life, the same whichever way box runs it:
//!
//! ```text
//!   launch   block the watched signals, connect the command's 0 1 2,
//!            create the cgroup, clone (child.rs sets up and execs),
//!            record it as running
//!   wait     the mode's own: box run forwards signals (and relays the
//!            terminal), the detached supervisor also keeps the log,
//!            box-init reaps it among its other children
//!   end      read the OOM count, remove the cgroup, record the end
//! ```
//!
//! What differs between the ways is the [`Mode`] and who waits. The OCI
//! runtime's create and start are one more mode ([`Mode::Created`]):
//! `launch` then returns with the init blocked before exec on the
//! container's exec fifo, box-oci records it as created and exits, and
//! `start` releases it; the engine, a subreaper, waits for it, and
//! `delete` ends it.

use crate::cgroup::ContainerCgroup;
use crate::container::plan::Plan;
use crate::container::tty::{ChildStdio, Relay};
use crate::container::{self, Container};
use crate::error::Result;
use crate::state::State;
use crate::sys::signal;
use crate::sys::timing::{self, Step};

/// How box runs a container, and what it keeps for that.
pub enum Mode {
    /// `box run`: box waits in the caller's place, relaying its terminals
    /// and forwarding its signals; recorded in /run/box when it has a name
    /// (`box exec NAME` and `box ps` find it).
    Foreground(Option<State>),
    /// `box run --detach`: a supervisor process waits and keeps the output
    /// (detach.rs, which has put its log pipe on box's 1 and 2); always
    /// recorded.
    Supervised(State),
    /// A container of box-init (board/services.rs): PID 1's loop, which
    /// has every signal blocked already, reaps it with its other children.
    /// Output on the console; not recorded.
    Service,
    /// The OCI runtime's `create` (src/oci): `launch` returns with the init
    /// set up and blocked on the plan's exec fifo until `start`, its 0, 1,
    /// 2 as given here (box's own, or a pty sent to the engine's console
    /// socket). The engine, a subreaper, waits for it: [`Life::leave`].
    #[cfg_attr(not(feature = "oci"), allow(dead_code))]
    Created(ChildStdio),
}

/// A container from its start to its end.
pub struct Life {
    pub container: Container,
    state: Option<State>,
    /// Foreground, with a terminal among box's 0, 1, 2 (or `-t`).
    relay: Option<Relay>,
    remove_when_done: bool,
}

/// How a container ended.
pub struct Ended {
    /// The exit status of its init (128+N when killed by signal N).
    pub code: u8,
    /// The kernel's OOM killer ended a process of the container.
    pub oom_killed: bool,
    /// Its memory limit, if it had one.
    pub memory_limit: Option<u64>,
}

/// Create the container of `plan` and start its command, in `mode`.
/// Returns once the command runs (or with the child's error, 125, 126,
/// 127); on failure nothing is left: no cgroup, no state, no process.
pub fn launch(plan: &Plan, mut mode: Mode) -> Result<Life> {
    let started = start(plan, &mut mode);
    let state = match mode {
        Mode::Foreground(state) => state,
        Mode::Supervised(state) => Some(state),
        Mode::Service | Mode::Created(_) => None,
    };
    match started {
        Ok((container, relay)) => Ok(Life {
            container,
            state,
            relay,
            remove_when_done: plan.config.rm,
        }),
        Err(e) => {
            if let Some(state) = state {
                state.remove();
            }
            Err(e)
        }
    }
}

/// [`launch`]'s steps; the state, if any, is the caller's to remove on
/// failure. Kept out of `launch`, as `container::start` is kept out of
/// this: inlined into their one caller, the size-tuned box came out 5 KiB
/// larger.
#[inline(never)]
fn start(plan: &Plan, mode: &mut Mode) -> Result<(Container, Option<Relay>)> {
    // Blocked before clone and for good: the container's SIGCHLD and any
    // signal to forward wait in the pending set until the wait takes them
    // (box-init's PID 1 has blocked them all already).
    if !matches!(mode, Mode::Service) {
        signal::block_signals(&container::watched_signals());
    }
    // Pipes where box's 0, 1, 2 are terminals, or the pty of -t: decided
    // (and -t without a terminal refused) before anything is created. The
    // other modes give the command box's own.
    let (relay, stdio) = match mode {
        Mode::Foreground(_) => Relay::prepare(plan.config.tty)?,
        Mode::Supervised(_) | Mode::Service => (None, ChildStdio::Inherit),
        Mode::Created(stdio) => (None, core::mem::replace(stdio, ChildStdio::Inherit)),
    };
    timing::mark(Step::Prepare);
    let cgroup = create_cgroup(plan)?;
    timing::mark(Step::Cgroup);
    let started = container::start(plan, cgroup, stdio)?;
    let state = match &*mode {
        Mode::Foreground(state) => state.as_ref(),
        Mode::Supervised(state) => Some(state),
        Mode::Service | Mode::Created(_) => None,
    };
    if let Some(state) = state
        && let Err(e) = record_running(state, plan, &started)
    {
        // Unrecorded, it could not be found or stopped by name: end it.
        container::abandon(&started);
        return Err(e);
    }
    Ok((started, relay))
}

/// The container's cgroup. This and [`record_running`] are functions of
/// their own, as they were before `launch` gathered the steps: inlined,
/// their buffers (paths, the command line: some 10 KiB) stayed on the stack
/// under `start` while the child was cloned, and box run touched more pages.
#[inline(never)]
fn create_cgroup(plan: &Plan) -> Result<Option<ContainerCgroup>> {
    ContainerCgroup::create(plan.config, plan.cgroup_place(), &plan.devices)
}

#[inline(never)]
fn record_running(state: &State, plan: &Plan, started: &Container) -> Result<()> {
    state.record_running(started.pid, plan.command.line().as_bytes())
}

impl Life {
    /// The container's record in /run/box, if it has one.
    pub fn state(&self) -> Option<&State> {
        self.state.as_ref()
    }

    /// The foreground's wait: relay the terminals (if any) and forward
    /// signals until the init exits, then [`Life::end`].
    pub fn wait(mut self) -> Result<Ended> {
        let code = match self.relay.take() {
            Some(relay) => match relay.run(&self.container) {
                Ok(code) => code,
                Err(e) => {
                    drop(self.container);
                    if let Some(state) = self.state {
                        state.remove();
                    }
                    return Err(e);
                }
            },
            None => container::wait(&self.container),
        };
        Ok(self.end(code))
    }

    /// Leave the container to its own (an OCI `create`): its cgroup stays
    /// for `delete` to remove, and its init for the engine to reap.
    /// Returns the init's PID.
    #[cfg_attr(not(feature = "oci"), allow(dead_code))]
    pub fn leave(self) -> rustix::process::Pid {
        let Container { pid, pidfd, cgroup } = self.container;
        drop(pidfd);
        core::mem::forget(cgroup);
        pid
    }

    /// The init has exited with `code` and been reaped: read whether the
    /// OOM killer struck, remove the cgroup, record the end.
    pub fn end(self, code: u8) -> Ended {
        let cgroup = self.container.cgroup.as_ref();
        let oom_killed = cgroup.is_some_and(ContainerCgroup::oom_killed);
        let memory_limit = cgroup.and_then(ContainerCgroup::memory_limit);
        // The group goes (drop) before the state says the container ended,
        // so a `box stop` that sees "exited" finds nothing left.
        drop(self.container);
        if let Some(state) = self.state {
            state.record_end(code, oom_killed, self.remove_when_done);
        }
        Ended {
            code,
            oom_killed,
            memory_limit,
        }
    }
}
