//! `box poweroff`, `box reboot`, `box halt`: ask the board's box-init to
//! shut down, with the signals busybox init uses (SIGUSR2 power off,
//! SIGTERM reboot, SIGUSR1 halt). `-f` skips PID 1 and calls reboot(2) at
//! once, after a sync.
//!
//! Only from the board's own PID namespace: in a container PID 1 is the
//! container's init, which the signal would stop instead, so box refuses.
//! A container that may reboot the board shares the board's PID namespace
//! (control.rs).

use crate::packed::Packed;
use rustix::process::{Pid, Signal};
use rustix::system::RebootCommand;

use crate::args::CommandLine;
use crate::errln;
use crate::error::EXIT_BOX;
use crate::options::{Command, Opt, Usage};
use crate::out::finish;
use crate::sys::entry::Args;

pub fn poweroff(args: Args) -> u8 {
    shutdown(args, &POWEROFF, Signal::USR2, RebootCommand::PowerOff)
}

pub fn reboot(args: Args) -> u8 {
    shutdown(args, &REBOOT, Signal::TERM, RebootCommand::Restart)
}

pub fn halt(args: Args) -> u8 {
    shutdown(args, &HALT, Signal::USR1, RebootCommand::Halt)
}

#[derive(Clone, Copy, Debug)]
pub enum PowerOption {
    Force,
}

/// The options of all three.
const OPTIONS: &[Opt<PowerOption>] = &[Opt::flag(
    "force",
    packed!("sync and call reboot(2) at once, without PID 1"),
    PowerOption::Force,
)
.short(b'f')];

const fn power(name: &'static str, about: Packed) -> Command<PowerOption> {
    Command {
        usage: Usage {
            name,
            synopsis: &["[-f]"],
            about,
            notes: packed!(""),
        },
        options: OPTIONS,
    }
}

pub const POWEROFF: Command<PowerOption> = power(
    "box poweroff",
    packed!("Asks PID 1 (box-init) to power off, with SIGUSR2 as busybox init takes it."),
);
pub const REBOOT: Command<PowerOption> = power(
    "box reboot",
    packed!("Asks PID 1 (box-init) to reboot, with SIGTERM as busybox init takes it."),
);
pub const HALT: Command<PowerOption> = power(
    "box halt",
    packed!("Asks PID 1 (box-init) to halt, with SIGUSR1 as busybox init takes it."),
);

fn shutdown(
    args: Args,
    program: &'static Command<PowerOption>,
    signal: Signal,
    command: RebootCommand,
) -> u8 {
    let mut force = false;
    let mut line = CommandLine::new(args, program);
    loop {
        match line.next() {
            Ok(None) => break,
            Ok(Some(found)) => match found.action {
                PowerOption::Force => force = true,
            },
            Err(e) => return finish(program, Err(e)),
        }
    }
    let name = program.usage.prefix();
    if force {
        rustix::fs::sync();
        let err = rustix::system::reboot(command).err();
        errln!(
            "{name}: reboot(2): {}",
            crate::error::ErrnoText(err.unwrap_or(rustix::io::Errno::INVAL))
        );
        return EXIT_BOX;
    }
    if !in_initial_pid_namespace() {
        errln!(
            "{name}: this is a container: its PID 1 is its own init, not the board's \
             (a container that may reboot the board shares its PID namespace: ns without pid)"
        );
        return EXIT_BOX;
    }
    match rustix::process::kill_process(Pid::INIT, signal) {
        Ok(()) => 0,
        Err(e) => {
            errln!(
                "{name}: kill(1, SIG{}): {}",
                crate::sys::signal::name(signal.as_raw()).unwrap_or("?"),
                crate::error::ErrnoText(e)
            );
            EXIT_BOX
        }
    }
}

/// Whether this process is in the board's own PID namespace; true when
/// /proc cannot tell.
fn in_initial_pid_namespace() -> bool {
    rustix::fs::stat(c"/proc/self/ns/pid").map_or(true, |st| {
        Some(st.st_ino) == crate::sys::ns::initial_inode("pid")
    })
}
