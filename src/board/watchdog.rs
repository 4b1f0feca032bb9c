//! The board's hardware watchdog: when box-init stops feeding it (because
//! it hangs), the hardware resets the board.
//!
//! Opened when `box.watchdog=SECONDS` or /etc/box/watchdog asks. Opening
//! /dev/watchdog starts it; box-init sets the timeout (WDIOC_SETTIMEOUT) and
//! feeds it from its own wait loops, never from a thread that would go on
//! feeding while the loop hangs: every wait is cut to half the timeout.
//! On a clean shutdown the magic close (`V`, then close) stops it before
//! reboot(2). Across a handover to a real root the descriptor closes
//! without the magic character, so the watchdog keeps running and the next
//! init must feed it (box-init does when the same key asks).

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};

use crate::board::log::monotonic_ns;
use crate::board::{Cmdline, Log};
use crate::log;

const DEVICE: &core::ffi::CStr = c"/dev/watchdog";
/// The board's own setting (one number of seconds), if the image has one.
const BOARD_FILE: &core::ffi::CStr = c"/etc/box/watchdog";

pub struct Watchdog {
    device: Option<OwnedFd>,
    /// The timeout the driver set, in milliseconds.
    timeout_ms: u64,
    last_fed_ns: u64,
    /// `box.watchdog.test-stop=1`: never fed.
    starve: bool,
}

impl Watchdog {
    /// No watchdog: feeding and closing do nothing.
    pub const fn none() -> Watchdog {
        Watchdog {
            device: None,
            timeout_ms: 0,
            last_fed_ns: 0,
            starve: false,
        }
    }

    /// Open and arm the watchdog if the command line or the board asks.
    pub fn open(log: &mut Log, cmdline: &Cmdline) -> Watchdog {
        let seconds = match cmdline.watchdog() {
            Some(seconds) => seconds,
            None => board_setting().unwrap_or(0),
        };
        if seconds == 0 {
            return Watchdog::none();
        }
        let device = match rustix::fs::open(DEVICE, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
        {
            Ok(device) => device,
            Err(e) => {
                log!(
                    log,
                    "watchdog: open /dev/watchdog: {}",
                    crate::error::ErrnoText(e)
                );
                return Watchdog::none();
            }
        };
        let set = match crate::sys::watchdog::set_timeout(device.as_fd(), seconds) {
            Ok(0) => seconds,
            Ok(set) => set,
            // It runs (opening started it) with the driver's own timeout,
            // which box-init cannot know: it is fed every second.
            Err(e) => {
                log!(
                    log,
                    "watchdog: WDIOC_SETTIMEOUT: {}",
                    crate::error::ErrnoText(e)
                );
                2
            }
        };
        let starve = cmdline.watchdog_test_stop();
        log!(
            log,
            "watchdog: timeout {set} s, {} (+{})",
            if starve {
                "NOT fed (box.watchdog.test-stop=1): the board resets"
            } else {
                "fed"
            },
            log.elapsed()
        );
        Watchdog {
            device: Some(device),
            timeout_ms: u64::from(set) * 1000,
            last_fed_ns: monotonic_ns(),
            starve,
        }
    }

    /// `timeout_ms` for a wait, cut to half the watchdog's timeout, so that
    /// the loop wakes up in time to feed it.
    pub fn cap(&self, timeout_ms: Option<u64>) -> Option<u64> {
        if self.device.is_none() {
            return timeout_ms;
        }
        let half = self.timeout_ms / 2;
        Some(timeout_ms.map_or(half, |t| t.min(half)))
    }

    /// Feed it, if a quarter of its timeout has passed since the last time
    /// (a loop woken by many signals does not write for each).
    pub fn feed(&mut self) {
        let Some(device) = &self.device else {
            return;
        };
        if self.starve {
            return;
        }
        let now = monotonic_ns();
        if now.saturating_sub(self.last_fed_ns) / 1_000_000 < self.timeout_ms / 4 {
            return;
        }
        // Any byte but 'V' is a keepalive, and cancels an earlier 'V'.
        let _ = rustix::io::write(device, b"\0");
        self.last_fed_ns = now;
    }

    /// The magic close: 'V' then close, which stops the watchdog (unless
    /// the kernel was built with WATCHDOG_NOWAYOUT), so that a slow reboot
    /// or a halt is not cut short by a reset.
    pub fn close_cleanly(&mut self) {
        if let Some(device) = self.device.take() {
            let _ = rustix::io::write(&device, b"V");
        }
    }
}

/// /etc/box/watchdog: the timeout in seconds, written there from the board
/// file by `cargo xtask initramfs`.
fn board_setting() -> Option<u32> {
    let fd = rustix::fs::open(BOARD_FILE, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 32];
    let n = rustix::io::read(&fd, &mut buf).unwrap_or(0);
    crate::text::parse_u32(buf[..n].trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_cut_to_half_the_timeout_only_when_armed() {
        let off = Watchdog::none();
        assert_eq!(off.cap(None), None);
        assert_eq!(off.cap(Some(70_000)), Some(70_000));
        let device = rustix::fs::open(c"/dev/null", OFlags::WRONLY, Mode::empty()).unwrap();
        let on = Watchdog {
            device: Some(device),
            timeout_ms: 10_000,
            last_fed_ns: 0,
            starve: false,
        };
        assert_eq!(on.cap(None), Some(5_000));
        assert_eq!(on.cap(Some(70_000)), Some(5_000));
        assert_eq!(on.cap(Some(100)), Some(100));
    }
}
