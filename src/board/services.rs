//! The containers of /etc/box/*.box: start them in name order, restart them
//! by their `restart` policy with a capped exponential backoff, reap every
//! orphan, and hand back when a shutdown signal comes or nothing is left.

use core::mem::MaybeUninit;

use rustix::fs::{Mode, OFlags};

use crate::board::control::{Event, Waits};
use crate::board::log::monotonic_ns;
use crate::board::{Cmdline, Log, Shutdown, has_children};
use crate::config::Restart;
use crate::container::{self, plan, plan::Plan};
use crate::log;
use crate::spec::{self, Spec};
use crate::sys::cell::Taken;
use crate::sys::entry::Args;
use crate::sys::process;
use crate::text::{Bytes, CPath, Text};

/// Where box-init finds its specs.
pub const SPEC_DIR: &[u8] = b"/etc/box";
/// Most specs box-init runs (each is a fixed-size record in static memory,
/// whose pages are touched only as the table fills).
pub const MAX_SERVICES: usize = 64;
/// First restart delay; it doubles with each quick failure.
const BACKOFF_FIRST_MS: u64 = 100;
/// Longest restart delay.
const BACKOFF_MAX_MS: u64 = 30_000;
/// A container that ran this long before exiting counts as having worked:
/// its next restart starts again from the first delay.
const STABLE_AFTER_MS: u64 = 10_000;

struct Service {
    name: Text<{ crate::config::NAME_MAX }>,
    spec: Spec,
    running: Option<container::Life>,
    started_ms: u64,
    /// Restarts in a row after short runs (drives the backoff).
    quick_failures: u32,
    /// When to start it again, if it is waiting to be restarted.
    restart_at_ms: Option<u64>,
    /// Confine what it may execute with Landlock (`Plan::confine_exec`).
    confine_exec: bool,
}

type Services = heapless::Vec<Service, MAX_SERVICES>;

fn now_ms() -> u64 {
    monotonic_ns() / 1_000_000
}

/// Run the specs until a shutdown signal (its kind) or until no container
/// runs, none waits for a restart and no other process is left (`None`).
/// `resumed`: box-init runs from the sealed copy it re-executed for them
/// ([`seal`]), which read them again and says nothing it said before.
pub fn run(
    log: &mut Log,
    cmdline: &Cmdline,
    args: Args,
    waits: &mut Waits,
    resumed: bool,
) -> Option<Shutdown> {
    // In .bss, with room for every spec: a Service is some 30 KiB, and a
    // table of them on PID 1's stack would be touched page by page at boot.
    static TABLE: Taken<Services> = Taken::new(heapless::Vec::new());
    let Some(services) = TABLE.take() else {
        log!(log, "the table of services is in use: specs not started");
        return None;
    };
    let mut muted = Log::muted();
    load(if resumed { &mut muted } else { log }, cmdline, services);
    if !resumed {
        log!(log, "read {} specs (+{})", services.len(), log.elapsed());
    }
    if !seal(log, services, args, resumed) {
        return None;
    }
    for service in services.iter_mut() {
        start(log, service, args);
        // Many starts in a row may take longer than the watchdog's period.
        waits.watchdog.feed();
    }
    // Containers first, then cgroup2 and the controllers for box/ (a
    // container with limits mounts and enables them itself when it is
    // created): the first command starts as early as possible.
    super::cgroup::mount(log);
    super::cgroup::prepare(log);
    loop {
        let pending = services.iter().filter_map(|s| s.restart_at_ms).min();
        if pending.is_none() && services.iter().all(|s| s.running.is_none()) && !has_children() {
            return None;
        }
        let timeout = pending.map(|at| at.saturating_sub(now_ms()));
        // Also feeds the watchdog, and wakes up in time to.
        match waits.next(timeout) {
            Event::Child => reap(log, services),
            Event::Shutdown(kind) => return Some(kind),
            Event::Nothing => {}
        }
        let now = now_ms();
        for service in services.iter_mut() {
            if service.restart_at_ms.is_some_and(|at| at <= now) {
                service.restart_at_ms = None;
                start(log, service, args);
            }
        }
    }
}

/// Read the spec files: all of /etc/box/*.box in name order, or only
/// NAME.box with `box.spec=NAME`. A bad spec is logged and skipped.
fn load(log: &mut Log, cmdline: &Cmdline, services: &mut Services) {
    let mut names: heapless::Vec<Text<{ crate::config::NAME_MAX }>, MAX_SERVICES> =
        heapless::Vec::new();
    if let Some(only) = &cmdline.spec {
        let _ = names.push(Text::from_bytes_lossy(only.as_bytes()));
    } else {
        list_specs(log, &mut names);
    }
    names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in &names {
        let Some(path) = CPath::from_parts(&[SPEC_DIR, b"/", name.as_bytes(), b".box"]) else {
            continue;
        };
        let mut spec = match spec::load(path.as_cstr()) {
            Ok(spec) => spec,
            Err(e) => {
                log!(log, "{e}");
                continue;
            }
        };
        // Its containers write to the console: there is no caller's
        // terminal to relay a pty to, and a spec asking for one is meant
        // for `box run --file` from a terminal.
        if spec.config.tty {
            log!(
                log,
                "{}: skipped: tty: box-init has no terminal to relay (use box run --file)",
                path
            );
            continue;
        }
        if spec.config.name.is_none() {
            spec.config.name = Some(*name);
        }
        let service = Service {
            name: spec.config.name.unwrap_or(*name),
            spec,
            running: None,
            started_ms: 0,
            quick_failures: 0,
            restart_at_ms: None,
            confine_exec: false,
        };
        // Room for each: `names` holds at most MAX_SERVICES.
        let _ = services.push(service);
    }
    if names.is_empty() {
        log!(log, "no specs in /etc/box");
    }
}

/// The names (without `.box`) of the spec files in /etc/box.
fn list_specs(
    log: &mut Log,
    names: &mut heapless::Vec<Text<{ crate::config::NAME_MAX }>, MAX_SERVICES>,
) {
    let dir = match rustix::fs::open(
        c"/etc/box",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(dir) => dir,
        Err(e) => {
            log!(log, "/etc/box: {}", crate::error::ErrnoText(e));
            return;
        }
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        let file = entry.file_name().to_bytes();
        let Some(stem) = file.strip_suffix(b".box") else {
            continue;
        };
        if !crate::config::valid_name(stem) {
            log!(
                log,
                "/etc/box/{}: skipped: the name must be letters, digits, '_', '.' or '-'",
                Bytes(file)
            );
            continue;
        }
        if names.push(Text::from_bytes_lossy(stem)).is_err() {
            log!(
                log,
                "/etc/box: more than {MAX_SERVICES} specs: the rest are skipped"
            );
            return;
        }
    }
}

/// Keep box's own file out of the containers' reach (src/sys/exe.rs): each
/// is a fork of box-init and runs box's code until it executes its command.
/// Where Landlock confines every one (`plan::exec_confinable`, ABI 2),
/// none can execute or open box's file, nor look into box-init; else
/// box-init re-executes from a sealed copy of box, which goes on from here
/// (mod.rs). The rc and the shell, its other forks, are the board's own
/// programs, and the handover comes before any container. One line says
/// which and why; false when no container may start.
fn seal(log: &mut Log, services: &mut Services, args: Args, resumed: bool) -> bool {
    let landlock = crate::sys::landlock::abi() >= crate::sys::landlock::ABI_REFER;
    for service in services.iter_mut() {
        service.confine_exec = landlock && plan::exec_confinable(&service.spec.config);
    }
    let unconfined = services.iter().find(|s| !s.confine_exec);
    let (from, why) = match unconfined {
        None => ("box's file", "Landlock confines every container"),
        Some(_) if !resumed => match crate::sys::exe::run_sealed(args) {
            Err(e) => {
                log!(log, "{e}: no container is started");
                return false;
            }
            Ok(()) => ("box's file", "a read-only filesystem"),
        },
        Some(_) if landlock => (
            "a sealed copy of box, for ",
            "Landlock cannot confine its container",
        ),
        Some(_) => (
            "a sealed copy of box, for ",
            "the kernel has no Landlock ABI 2",
        ),
    };
    let name = unconfined
        .filter(|_| resumed)
        .map_or(&b""[..], |s| s.name.as_bytes());
    log!(log, "runs from {from}{}: {why}", Bytes(name));
    true
}

fn start(log: &mut Log, service: &mut Service, args: Args) {
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let started =
        Plan::new(&service.spec.config, service.spec.command(), &args, pid).and_then(|mut plan| {
            plan.confine_exec = service.confine_exec;
            if crate::cgroup::wanted(&service.spec.config) {
                super::cgroup::mount(log);
            }
            container::launch(&plan, container::Mode::Service)
        });
    service.started_ms = now_ms();
    match started {
        Ok(c) => {
            log!(
                log,
                "{}: started, pid {} (+{})",
                service.name,
                c.container.pid.as_raw_nonzero(),
                log.elapsed()
            );
            service.running = Some(c);
        }
        Err(e) => {
            log!(log, "{}: failed to start: {e}", service.name);
            exited(log, service, e.code);
        }
    }
}

/// Reap every exited child; for a container's init, log and apply its
/// restart policy. Orphans are reaped silently.
fn reap(log: &mut Log, services: &mut [Service]) {
    while let Some((pid, ended)) = process::reap_any(false) {
        let Some(service) = services
            .iter_mut()
            .find(|s| s.running.as_ref().is_some_and(|c| c.container.pid == pid))
        else {
            continue;
        };
        if let Some(life) = service.running.take() {
            life.end(ended.code());
        }
        log!(log, "{}: {ended}", service.name);
        exited(log, service, ended.code());
    }
}

/// Apply the restart policy after an exit with `code`.
fn exited(log: &mut Log, service: &mut Service, code: u8) {
    let restart = match service.spec.config.restart {
        Restart::No => false,
        Restart::OnFailure => code != 0,
        Restart::Always => true,
    };
    if !restart {
        service.quick_failures = 0;
        return;
    }
    let ran_ms = now_ms().saturating_sub(service.started_ms);
    if ran_ms >= STABLE_AFTER_MS {
        service.quick_failures = 0;
    }
    let delay = backoff_ms(service.quick_failures);
    service.quick_failures = service.quick_failures.saturating_add(1);
    service.restart_at_ms = Some(now_ms() + delay);
    log!(log, "{}: restarting in {delay} ms", service.name);
}

/// 100 ms, 200 ms, 400 ms, … up to 30 s.
pub fn backoff_ms(quick_failures: u32) -> u64 {
    BACKOFF_FIRST_MS
        .saturating_mul(1u64 << quick_failures.min(20))
        .min(BACKOFF_MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(0), 100);
        assert_eq!(backoff_ms(1), 200);
        assert_eq!(backoff_ms(3), 800);
        assert_eq!(backoff_ms(9), 30_000);
        assert_eq!(backoff_ms(1000), 30_000);
    }
}
