//! How box-init's waits end: a child's exit, a shutdown asked for, or a
//! timeout.
//!
//! A shutdown is asked for with the signals busybox init takes: SIGUSR2
//! power off, SIGTERM and SIGINT (ctrl-alt-del) reboot, SIGUSR1 halt. Only
//! processes of the board's own PID namespace can send them to box-init:
//! in a container PID 1 is the container's init. A container that must be
//! able to reboot the board (an updater) shares the board's PID namespace
//! (`ns` without `pid` in its spec): that is the grant, and a default
//! container has none (README, "Shutdown").
//!
//! [`Waits`] is the one place where box-init sleeps: it also feeds the
//! watchdog, and cuts every wait to half its timeout.

use rustix::process::Signal;

use crate::board::Shutdown;
use crate::board::watchdog::Watchdog;
use crate::sys::signal::{self, SigSet};

/// What ended a wait.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// A child exited (SIGCHLD): reap.
    Child,
    /// A shutdown was asked for.
    Shutdown(Shutdown),
    /// A timeout, or a signal box-init has nothing to do with.
    Nothing,
}

/// box-init's waits: the signals it takes, the watchdog it feeds.
pub struct Waits {
    signals: SigSet,
    pub watchdog: Watchdog,
}

impl Waits {
    pub fn new(signals: SigSet, watchdog: Watchdog) -> Waits {
        Waits { signals, watchdog }
    }

    /// Wait for a signal, at most `timeout_ms` (and at most half the
    /// watchdog's timeout), then feed the watchdog.
    pub fn next(&mut self, timeout_ms: Option<u64>) -> Event {
        let timeout = self.watchdog.cap(timeout_ms);
        let event = match signal::wait_signal(&self.signals, timeout) {
            Ok(Some(info)) if info.signal == Signal::CHILD.as_raw() => Event::Child,
            Ok(Some(info)) => {
                Shutdown::from_signal(info.signal).map_or(Event::Nothing, Event::Shutdown)
            }
            Ok(None) | Err(_) => Event::Nothing,
        };
        self.watchdog.feed();
        event
    }
}
