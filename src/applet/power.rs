//! `box poweroff`, `box reboot`, `box halt`: ask PID 1 to shut down, with the
//! signals busybox init uses (SIGUSR2 power off, SIGTERM reboot, SIGUSR1
//! halt). `-f` skips PID 1 and calls reboot(2) at once, after a sync.

use rustix::process::{Pid, Signal};
use rustix::system::RebootCommand;

use crate::args::{Opt, Parser};
use crate::errln;
use crate::error::EXIT_BOX;
use crate::sys::entry::Args;

pub fn poweroff(args: Args) -> u8 {
    shutdown(args, "poweroff", Signal::USR2, RebootCommand::PowerOff)
}

pub fn reboot(args: Args) -> u8 {
    shutdown(args, "reboot", Signal::TERM, RebootCommand::Restart)
}

pub fn halt(args: Args) -> u8 {
    shutdown(args, "halt", Signal::USR1, RebootCommand::Halt)
}

fn shutdown(args: Args, name: &str, signal: Signal, command: RebootCommand) -> u8 {
    let mut force = false;
    let mut p = Parser::new(args);
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Opt::Short(b'f') | Opt::Long(b"force"))) => force = true,
            Ok(Some(Opt::Short(b'h') | Opt::Long(b"help"))) => {
                crate::outln!(
                    "usage: box {name} [-f]\n  asks PID 1 (box-init) to {name}; -f calls reboot(2) at once"
                );
                return 0;
            }
            Ok(Some(opt)) => {
                errln!("box: {name}: {}", p.unknown(opt));
                return EXIT_BOX;
            }
            Err(e) => {
                errln!("box: {name}: {e}");
                return EXIT_BOX;
            }
        }
    }
    if force {
        rustix::fs::sync();
        let err = rustix::system::reboot(command).err();
        errln!(
            "box: {name}: reboot(2): {}",
            crate::error::ErrnoText(err.unwrap_or(rustix::io::Errno::INVAL))
        );
        return EXIT_BOX;
    }
    match rustix::process::kill_process(Pid::INIT, signal) {
        Ok(()) => 0,
        Err(e) => {
            errln!(
                "box: {name}: kill(1, SIG{}): {}",
                crate::sys::signal::name(signal.as_raw()).unwrap_or("?"),
                crate::error::ErrnoText(e)
            );
            EXIT_BOX
        }
    }
}
