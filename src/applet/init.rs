//! `box-init` (also `init`): PID 1 (DESIGN.md section 4).
//!
//! - With a command (`box-init [--subreaper] [--] CMD…`, or `box run --init`)
//!   it is a container's init, as tini: start CMD, forward signals to it,
//!   reap every child, exit with CMD's status (128+N when killed by N).
//! - As PID 1 without a command it is the board's init (src/board/).

use rustix::process::{Pid, Signal};

use crate::args::CommandLine;
use crate::errln;
use crate::error::{EXIT_BOX, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND};
use crate::options::{Command, Opt, Usage};
use crate::out::finish;
use crate::sys::entry::Args;
use crate::sys::signal::{self, SI_KERNEL, SYNCHRONOUS, SigSet};
use crate::sys::{clone, exec, fd, process};
use crate::text::Bytes;

#[derive(Clone, Copy, Debug)]
pub enum InitOption {
    Subreaper,
}

pub const INIT: Command<InitOption> = Command {
    usage: Usage {
        name: "box-init",
        synopsis: &[
            "[--subreaper] [--] CMD [ARG…]",
            "(as PID 1, without CMD: the board's init)",
        ],
        about: packed!(
            "Runs CMD as its child, forwards signals to it, reaps every orphan, and\n\
                exits with CMD's status (128+N if CMD was killed by signal N)."
        ),
        notes: packed!(""),
    },
    options: &[Opt::flag(
        "subreaper",
        packed!("reap orphans even when not PID 1"),
        InitOption::Subreaper,
    )
    .short(b's')],
};

pub fn main(args: Args) -> u8 {
    let mut subreaper = false;
    let mut line = CommandLine::new(args, &INIT);
    loop {
        match line.next() {
            Ok(None) => break,
            Ok(Some(found)) => match found.action {
                InitOption::Subreaper => subreaper = true,
            },
            Err(e) => return finish(&INIT, Err(e)),
        }
    }
    let command = line.rest();
    let is_pid1 = rustix::process::getpid() == Pid::INIT;
    if command.is_empty() {
        if is_pid1 {
            crate::board::main(args)
        }
        errln!(
            "box-init: no command given (board mode runs only as PID 1): box-init [--subreaper] [--] CMD [ARG…]"
        );
        return EXIT_BOX;
    }
    container_init(command, args, is_pid1, subreaper)
}

/// tini's loop: wait for a signal, forward it, reap every exited child,
/// leave with the main child's status once it is gone.
fn container_init(command: Args, args: Args, is_pid1: bool, subreaper: bool) -> u8 {
    // Every signal is taken synchronously by the loop below; faults stay
    // fatal. Blocked before the fork, so nothing is lost in between.
    let all = SigSet::all_but(SYNCHRONOUS);
    signal::block_signals(&all);
    if !is_pid1 {
        if subreaper {
            if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
                errln!(
                    "box-init: prctl(PR_SET_CHILD_SUBREAPER): {}",
                    crate::error::ErrnoText(e)
                );
                return EXIT_BOX;
            }
        } else {
            errln!(
                "box-init: warning: not PID 1 and not a subreaper (--subreaper): orphans will not be reaped here"
            );
        }
    }
    let child = match start_command(command, args) {
        Ok(pid) => pid,
        Err(code) => return code,
    };
    loop {
        let info = match signal::wait_signal(&all, None) {
            Ok(Some(info)) => info,
            Ok(None) => continue,
            Err(e) => {
                errln!("box-init: sigtimedwait: {}", crate::error::ErrnoText(e));
                return EXIT_BOX;
            }
        };
        let signal = info.signal;
        if signal == Signal::CHILD.as_raw() {
            if let Some(ended) = process::reap_all(child) {
                return ended.code();
            }
            continue;
        }
        // A terminal going away makes the kernel send SIGHUP and SIGCONT to
        // the session; passing those on would kill the command for nothing
        // (dumb-init#136). Sent by a process, they are forwarded as usual.
        let from_tty = info.code == SI_KERNEL
            && (signal == Signal::HUP.as_raw() || signal == Signal::CONT.as_raw());
        if !from_tty {
            let _ = process::send_signal(child, None, signal);
        }
    }
}

/// Fork and exec the command in its own process group, in the terminal's
/// foreground when there is one, so an interactive shell has job control.
fn start_command(command: Args, args: Args) -> Result<Pid, u8> {
    let path = args
        .env(b"PATH")
        .unwrap_or(crate::container::plan::DEFAULT_PATH);
    let spawned = clone::spawn(0, None, Signal::CHILD.as_raw() as u64, || {
        let _ = rustix::process::setpgid(None, None);
        // SIGTTOU would stop a background process group taking the
        // terminal; it is blocked here (inherited mask), so tcsetpgrp works.
        let stdin = fd::stdin();
        if rustix::termios::isatty(stdin) {
            let _ = rustix::termios::tcsetpgrp(stdin, rustix::process::getpid());
        }
        signal::reset_signals();
        let program = command.get(0).unwrap_or(c"");
        let (errno, tried) = exec::exec_search(program, command.argv(), args.envp(), path);
        let code = if errno == rustix::io::Errno::NOENT {
            EXIT_NOT_FOUND
        } else {
            EXIT_NOT_EXECUTABLE
        };
        errln!(
            "box-init: execve({}): {}",
            Bytes(tried.as_bytes()),
            crate::error::ErrnoText(errno)
        );
        exec::exit_now(code)
    });
    match spawned {
        Ok(s) => {
            let pid = Pid::from_raw(s.pid).ok_or(EXIT_BOX)?;
            // Also from this side, so the group exists before any signal.
            let _ = rustix::process::setpgid(Some(pid), Some(pid));
            Ok(pid)
        }
        Err((call, e)) => {
            errln!("box-init: {call}: {}", crate::error::ErrnoText(e));
            Err(EXIT_BOX)
        }
    }
}
